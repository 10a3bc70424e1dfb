// Command osmo2argo-apiserver is a real Kubernetes API server for
// osmo2argo's tests: k8s.io/apiextensions-apiserver run in-process on an
// embedded etcd, so tests can create, dry-run, get, watch and patch Argo
// Workflow objects against Argo's own (full) CRDs, with the same schema,
// maxItems, CEL and strict field validation as a real cluster.
//
// It serves only the apiextensions.k8s.io API and the custom resources of
// the CRDs it is given: no core API (Namespaces, ConfigMaps, Secrets, RBAC),
// no admission plugins, no controllers. Namespaced custom resources can be
// created in any namespace name, since nothing checks that the Namespace
// exists. The exception is a shim (argo_server_shim.go) answering the few
// core calls `argo server` makes, so tests can run a real Argo Server on it:
// GET of the ConfigMap workflow-controller-configmap (empty) in any
// namespace, SelfSubjectAccessReview, and Events (accepted, not stored).
//
// Usage:
//
//	osmo2argo-apiserver [--listen 127.0.0.1:0] [--data-dir DIR] [--crd-dir PATH]...
//	                    [--kubeconfig-out FILE] [--admin-token T] [--readonly-token T] [--v N]
//
// When it serves, and every CRD from --crd-dir is Established and ready for
// requests, it prints one line, "READY https://127.0.0.1:PORT", on stdout;
// logs go to stderr. SIGTERM or SIGINT shut it down cleanly (exit status 0).
//
// Objects, CRDs included, live in etcd under --data-dir, so a restart on the
// same directory keeps them (pass the same --listen port to keep the URL,
// and --crd-dir again to have the CRDs warmed before READY).
//
// Authentication is by static bearer token: the admin token (user "admin",
// group system:masters) may do everything; the read-only token (user
// "readonly") may only get, list and watch, so a create answers 403 like a
// cluster without the RBAC grant; a request without a valid token gets 401.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	noopoteltrace "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver"
	"k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	generatedopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/util/openapi"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
)

type config struct {
	listen, dataDir, kubeconfigOut string
	crdPaths                       stringList
	adminToken, readonlyToken      string
}

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var c config
	fs := flag.NewFlagSet("osmo2argo-apiserver", flag.ExitOnError)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:0", "address to serve HTTPS on; port 0 picks a free port (reported in the READY line)")
	fs.StringVar(&c.dataDir, "data-dir", "", "directory for etcd data and the serving certificate, kept across restarts (default: a temporary directory removed at exit)")
	fs.Var(&c.crdPaths, "crd-dir", "install at start-up every CustomResourceDefinition in the .yaml/.yml/.json files under this directory, or in this one file; may be repeated (default: install none)")
	fs.StringVar(&c.kubeconfigOut, "kubeconfig-out", "", "write a kubeconfig for this server here (contexts \"admin\", the current one, and \"readonly\")")
	fs.StringVar(&c.adminToken, "admin-token", "osmo2argo-admin", "bearer token of the user allowed everything")
	fs.StringVar(&c.readonlyToken, "readonly-token", "osmo2argo-readonly", "bearer token of a user allowed only get, list and watch")
	verbosity := fs.String("v", "0", "log verbosity of the API server (klog -v)")
	_ = fs.Parse(os.Args[1:])

	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	_ = klogFlags.Set("v", *verbosity)

	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "osmo2argo-apiserver:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	// First signal cancels ctx (graceful shutdown); a second one exits at once.
	ctx := genericapiserver.SetupSignalContext()

	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, p := range c.crdPaths {
		found, err := readCRDs(p)
		if err != nil {
			return err
		}
		if len(found) == 0 {
			return fmt.Errorf("no CustomResourceDefinition found in %s", p)
		}
		crds = append(crds, found...)
	}

	if c.dataDir == "" {
		tmp, err := os.MkdirTemp("", "osmo2argo-apiserver-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		c.dataDir = tmp
	}
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return err
	}

	etcdLog := zap.NewAtomicLevelAt(zapcore.ErrorLevel)
	etcd, etcdURL, err := startEtcd(filepath.Join(c.dataDir, "etcd"), etcdLog)
	if err != nil {
		return fmt.Errorf("starting etcd: %w", err)
	}
	defer func() {
		// Closing logs "server closed" errors from every listener: hush them.
		etcdLog.SetLevel(zapcore.FatalLevel)
		etcd.Close()
	}()

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	server, caFile, err := newAPIServer(c, ln, etcdURL)
	if err != nil {
		return err
	}

	// runErr is set before stopped is closed: read it only after <-stopped.
	var runErr error
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		runErr = server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
	}()

	loopback := server.GenericAPIServer.LoopbackClientConfig
	err = waitReady(ctx, loopback, stopped)
	if err == nil && len(crds) > 0 {
		err = installCRDs(ctx, loopback, crds)
	}
	if err != nil {
		if ctx.Err() != nil { // stopped by a signal while starting
			<-stopped
			return runErr
		}
		select {
		case <-stopped:
			if runErr != nil {
				return runErr
			}
		default:
		}
		return err
	}

	serverURL := "https://" + ln.Addr().String()
	if c.kubeconfigOut != "" {
		if err := writeKubeconfig(c, serverURL, caFile); err != nil {
			return err
		}
	}
	fmt.Printf("READY %s\n", serverURL)

	<-stopped
	return runErr // the deferred etcd.Close runs after the API server has stopped
}

// startEtcd starts a single-member etcd keeping its data in dir, with its
// client endpoint on a free loopback port, and returns that endpoint. It
// logs JSON lines to stderr at the level logLevel.
func startEtcd(dir string, logLevel zap.AtomicLevel) (*embed.Etcd, string, error) {
	cfg := embed.NewConfig()
	cfg.Name = "osmo2argo"
	cfg.Dir = dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.New(zapcore.NewCore(
		zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.Lock(os.Stderr), logLevel)))
	// Skipping fsync makes writes fast; data still survives a restart, or a
	// SIGKILL of this process, since it stays in the page cache. Only a
	// machine crash could lose it, which does not matter for tests.
	cfg.UnsafeNoFsync = true
	cfg.ListenClientUrls = []url.URL{{Scheme: "http", Host: "127.0.0.1:0"}}
	// No peer listener: a single member never talks to peers. The advertised
	// URLs are only recorded in the member list, never dialled.
	cfg.ListenPeerUrls = nil
	cfg.AdvertiseClientUrls = []url.URL{{Scheme: "http", Host: "127.0.0.1:2379"}}
	cfg.AdvertisePeerUrls = []url.URL{{Scheme: "http", Host: "127.0.0.1:2380"}}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, "", err
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, "", errors.New("etcd took more than 60s to start")
	}
	return e, "http://" + e.Clients[0].Addr().String(), nil
}

// newAPIServer configures the apiextensions-apiserver as its own command
// does (options.Config), minus everything that needs a core kube-apiserver:
// delegated authentication and authorisation, the core-API informers,
// admission plugins (NamespaceLifecycle and the webhook/policy plugins) and
// API priority and fairness. It returns the server and the path of the
// serving certificate (with its self-signed CA), which is kept in the data
// directory so that clients keep trusting it across restarts.
func newAPIServer(c config, ln net.Listener, etcdURL string) (*apiserver.CustomResourceDefinitions, string, error) {
	o := options.NewCustomResourceDefinitionsServerOptions(os.Stdout, os.Stderr)
	ro := o.RecommendedOptions
	ro.Authentication = nil
	ro.Authorization = nil
	ro.CoreAPI = nil
	ro.Admission = nil
	ro.Features.EnablePriorityAndFairness = false
	ro.Etcd.StorageConfig.Transport.ServerList = []string{etcdURL}

	addr := ln.Addr().(*net.TCPAddr)
	ro.SecureServing.Listener = ln
	ro.SecureServing.BindAddress = addr.IP
	ro.SecureServing.BindPort = addr.Port
	ro.SecureServing.ServerCert.CertDirectory = filepath.Join(c.dataDir, "pki")
	ro.SecureServing.ServerCert.PairName = "apiserver"
	if err := ro.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{net.IPv4(127, 0, 0, 1)}); err != nil {
		return nil, "", err
	}

	if err := o.ServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return nil, "", err
	}
	if err := o.Complete(); err != nil {
		return nil, "", err
	}
	if err := o.Validate(); err != nil {
		return nil, "", err
	}

	gc := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	if err := o.ServerRunOptions.ApplyTo(&gc.Config); err != nil {
		return nil, "", err
	}
	if err := ro.ApplyTo(gc); err != nil {
		return nil, "", err
	}
	if err := o.APIEnablement.ApplyTo(&gc.Config, apiserver.DefaultAPIResourceConfigSource(), apiserver.Scheme); err != nil {
		return nil, "", err
	}
	gc.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(
		openapi.GetOpenAPIDefinitionsWithoutDisabledFeatures(generatedopenapi.GetOpenAPIDefinitions),
		openapinamer.NewDefinitionNamer(apiserver.Scheme, scheme.Scheme))

	// Set before Complete(), which adds the loopback client's own token
	// (user system:apiserver, group system:masters) in front of these.
	gc.Authentication.Authenticator = authenticatorfactory.NewFromTokens(map[string]*user.DefaultInfo{
		c.adminToken:    {Name: "admin", Groups: []string{user.SystemPrivilegedGroup, user.AllAuthenticated}},
		c.readonlyToken: {Name: "readonly", Groups: []string{user.AllAuthenticated}},
	}, nil)
	gc.Authorization.Authorizer = authorizer.AuthorizerFunc(authorize)

	cfg := &apiserver.Config{
		GenericConfig: gc,
		ExtraConfig: apiserver.ExtraConfig{
			CRDRESTOptionsGetter: options.NewCRDRESTOptionsGetter(*ro.Etcd, gc.ResourceTransformers, gc.StorageObjectCountTracker),
			ServiceResolver:      noServices{},
			AuthResolverWrapper:  webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, gc.LoopbackClientConfig, noopoteltrace.NewTracerProvider()),
		},
	}
	server, err := cfg.Complete().New(genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, "", err
	}
	installArgoServerShim(server.GenericAPIServer.Handler.NonGoRestfulMux)
	return server, ro.SecureServing.ServerCert.CertKey.CertFile, nil
}

// authorize allows system:masters everything and everyone else read-only
// verbs. A denial carries no reason, as with RBAC, so a forbidden create
// reads like a real cluster's: `workflows.argoproj.io is forbidden: User
// "readonly" cannot create resource "workflows" in API group "argoproj.io"
// in the namespace "default"`.
func authorize(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	if slices.Contains(a.GetUser().GetGroups(), user.SystemPrivilegedGroup) || a.IsReadOnly() {
		return authorizer.DecisionAllow, "", nil
	}
	// Anyone may ask what they may do (Kubernetes' system:basic-user role).
	if a.GetAPIGroup() == "authorization.k8s.io" && a.GetResource() == "selfsubjectaccessreviews" && a.GetVerb() == "create" {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

// noServices stands in for the Service lister used to reach conversion
// webhooks, which need a core API this server does not have.
type noServices struct{}

func (noServices) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	return nil, fmt.Errorf("service %s/%s: this API server has no core API, so no conversion webhooks", namespace, name)
}

// waitReady polls /readyz until the server answers 200, or it stops.
func waitReady(ctx context.Context, loopback *rest.Config, stopped <-chan struct{}) error {
	client, err := rest.UnversionedRESTClientFor(withJSON(loopback))
	if err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case <-stopped:
			return false, errors.New("API server stopped while starting")
		default:
		}
		status := 0
		client.Get().AbsPath("/readyz").Do(ctx).StatusCode(&status)
		return status == 200, nil
	})
}

func withJSON(c *rest.Config) *rest.Config {
	c = rest.CopyConfig(c)
	c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return c
}

// specHashAnnotation records, on each installed CRD, a hash of the
// document it was installed from, so that a restart on the same data
// directory skips rewriting (and re-validating) an unchanged CRD.
const specHashAnnotation = "osmo2argo-apiserver/source-sha256"

// installCRDs creates, or updates when their file changed, the given
// CustomResourceDefinitions; waits until each is Established; then lists
// each kind once, because the server builds a kind's validators and
// handlers on its first request, which for Argo's full CRDs takes about a
// second of CPU.
func installCRDs(ctx context.Context, loopback *rest.Config, crds []*apiextensionsv1.CustomResourceDefinition) error {
	cs, err := clientset.NewForConfig(loopback)
	if err != nil {
		return err
	}
	api := cs.ApiextensionsV1().CustomResourceDefinitions()
	pending := map[string]bool{}
	for _, crd := range crds {
		_, err := api.Create(ctx, crd, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			var old *apiextensionsv1.CustomResourceDefinition
			old, err = api.Get(ctx, crd.Name, metav1.GetOptions{})
			if err == nil && old.Annotations[specHashAnnotation] != crd.Annotations[specHashAnnotation] {
				crd.ResourceVersion = old.ResourceVersion
				_, err = api.Update(ctx, crd, metav1.UpdateOptions{})
			}
		}
		if err != nil {
			return fmt.Errorf("installing CRD %s: %w", crd.Name, err)
		}
		pending[crd.Name] = true
	}

	// Watch rather than poll: every read of a CRD this size costs the server
	// tens of milliseconds. A watch without a resourceVersion starts with
	// the current state of every CRD.
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	w, err := api.Watch(wctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	defer w.Stop()
	for len(pending) > 0 {
		ev, ok := <-w.ResultChan()
		if !ok {
			return fmt.Errorf("CRDs not Established in time: %s", strings.Join(slices.Sorted(maps.Keys(pending)), ", "))
		}
		got, ok := ev.Object.(*apiextensionsv1.CustomResourceDefinition)
		if !ok || !pending[got.Name] {
			continue
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				delete(pending, got.Name)
				klog.Infof("CRD %s is Established", got.Name)
			}
		}
	}

	client, err := rest.UnversionedRESTClientFor(withJSON(loopback))
	if err != nil {
		return err
	}
	for _, crd := range crds {
		for _, v := range crd.Spec.Versions {
			if v.Served {
				err := client.Get().AbsPath("/apis", crd.Spec.Group, v.Name, crd.Spec.Names.Plural).Param("limit", "1").Do(ctx).Error()
				if err != nil {
					return fmt.Errorf("listing %s.%s/%s: %w", crd.Spec.Names.Plural, crd.Spec.Group, v.Name, err)
				}
			}
		}
	}
	return nil
}

// readCRDs decodes the CustomResourceDefinition documents of path, a file
// or a directory searched for .yaml/.yml/.json files; documents of other
// kinds (a kustomization.yaml, say) are skipped.
func readCRDs(path string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var crds []*apiextensionsv1.CustomResourceDefinition
	err := filepath.WalkDir(path, func(file string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch strings.ToLower(filepath.Ext(file)) {
		case ".yaml", ".yml", ".json":
		default:
			if file != path {
				return nil
			}
		}
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		reader := utilyaml.NewYAMLReader(bufio.NewReader(f))
		for {
			doc, err := reader.Read()
			if errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			var crd apiextensionsv1.CustomResourceDefinition
			if err := utilyaml.Unmarshal(doc, &crd); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			if crd.Kind != "CustomResourceDefinition" {
				continue
			}
			sum := sha256.Sum256(doc)
			metav1.SetMetaDataAnnotation(&crd.ObjectMeta, specHashAnnotation, hex.EncodeToString(sum[:]))
			crds = append(crds, &crd)
		}
	})
	return crds, err
}

// writeKubeconfig writes a kubeconfig trusting the serving certificate's CA,
// with the context "admin" (current) and "readonly".
func writeKubeconfig(c config, serverURL, caFile string) error {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["osmo2argo"] = &clientcmdapi.Cluster{Server: serverURL, CertificateAuthorityData: ca}
	for name, token := range map[string]string{"admin": c.adminToken, "readonly": c.readonlyToken} {
		kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
		kc.Contexts[name] = &clientcmdapi.Context{Cluster: "osmo2argo", AuthInfo: name, Namespace: "default"}
	}
	kc.CurrentContext = "admin"
	return clientcmd.WriteToFile(*kc, c.kubeconfigOut)
}

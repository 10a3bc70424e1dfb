package main

// The few core-API calls `argo server` makes, answered well enough for the
// tests to run a real Argo Server against this API server (which has no core
// API): it reads the ConfigMap workflow-controller-configmap at start-up,
// asks SelfSubjectAccessReviews whether it may read ClusterWorkflowTemplates,
// and records Events. The handlers sit behind the server's authentication
// and authorisation filters, like the real endpoints.

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/server/mux"
	"k8s.io/client-go/kubernetes/scheme"
)

const argoConfigMap = "workflow-controller-configmap"

func installArgoServerShim(m *mux.PathRecorderMux) {
	m.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"kind": "APIVersions", "versions": []string{"v1"},
			"serverAddressByClientCIDRs": []map[string]string{{"clientCIDR": "0.0.0.0/0", "serverAddress": r.Host}}})
	})
	m.HandlePrefix("/api/", http.HandlerFunc(coreV1))
	m.HandlePrefix("/apis/authorization.k8s.io/", http.HandlerFunc(selfSubjectAccessReview))
}

// coreV1 serves /api/v1: its discovery document, GET of the Argo ConfigMap in
// any namespace (empty: Argo's defaults), and Events, accepted and dropped.
func coreV1(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // api v1 namespaces NS RESOURCE [NAME]
	switch {
	case len(parts) == 2 && parts[1] == "v1" && r.Method == http.MethodGet:
		resource := func(name, kind string, verbs ...string) map[string]any {
			return map[string]any{"name": name, "singularName": "", "namespaced": true, "kind": kind, "verbs": verbs}
		}
		writeJSON(w, http.StatusOK, map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1",
			"resources": []any{resource("configmaps", "ConfigMap", "get"), resource("events", "Event", "create")}})
	case len(parts) == 6 && parts[2] == "namespaces" && parts[4] == "configmaps" && parts[5] == argoConfigMap && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"kind": "ConfigMap", "apiVersion": "v1",
			"metadata": map[string]any{"name": argoConfigMap, "namespace": parts[3]}, "data": map[string]string{}})
	case len(parts) == 5 && parts[2] == "namespaces" && parts[4] == "events" && r.Method == http.MethodPost:
		var event map[string]any
		if err := json.NewDecoder(r.Body).Decode(&event); err != nil {
			writeStatus(w, http.StatusBadRequest, "BadRequest", err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, event)
	default:
		writeStatus(w, http.StatusNotFound, "NotFound", "this test API server has no core API beyond what argo server needs")
	}
}

// selfSubjectAccessReview answers from the requesting token's rights, with
// the same rules as the server's authoriser.
func selfSubjectAccessReview(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/v1/selfsubjectaccessreviews") {
		writeStatus(w, http.StatusNotFound, "NotFound", "only SelfSubjectAccessReview is served")
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	// client-go may send protobuf (argo server does): decode with the client scheme.
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(raw, nil, nil)
	review, ok := obj.(*authorizationv1.SelfSubjectAccessReview)
	if err != nil || !ok || review.Spec.ResourceAttributes == nil {
		writeStatus(w, http.StatusBadRequest, "BadRequest", "a SelfSubjectAccessReview with spec.resourceAttributes is needed")
		return
	}
	who, _ := request.UserFrom(r.Context())
	ra := review.Spec.ResourceAttributes
	decision, _, _ := authorize(r.Context(), authorizer.AttributesRecord{User: who, Verb: ra.Verb, Namespace: ra.Namespace,
		APIGroup: ra.Group, Resource: ra.Resource, Subresource: ra.Subresource, Name: ra.Name, ResourceRequest: true})
	review.Status.Allowed = decision == authorizer.DecisionAllow
	review.APIVersion, review.Kind = "authorization.k8s.io/v1", "SelfSubjectAccessReview"
	writeJSON(w, http.StatusCreated, review)
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

func writeStatus(w http.ResponseWriter, code int, reason, message string) {
	writeJSON(w, code, map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure",
		"reason": reason, "message": message, "code": code})
}

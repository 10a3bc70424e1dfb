"""OSMO's `regex` data filters, run with Python's `re` exactly as OSMO's data client does.

OSMO moves a file only if `re.match(regex, path relative to the location)` succeeds
(src/lib/data/storage/backends/s3.py, uploading.py). Argo artifacts have no filter, so:
- inputs: an init container in the task's pod (which sees the downloaded artifacts through
  `mirrorVolumeMounts`) deletes the files that do not match, before the user command starts
  (the same container puts a single downloaded object where OSMO puts it);
- outputs: a step after the task downloads the task's output from intermediate storage and
  uploads only the matching files to the output location.
The regex reaches the helper base64-encoded: it is user text, and base64 has no `{{` for Argo
to substitute.
"""

from __future__ import annotations

import base64
from typing import NamedTuple

from .. import records
from . import model

# For each input: if Argo downloaded a single object as the file {{input:i}}, move it to
# {{input:i}}/<object name>, where OSMO puts it; then delete every file whose path relative to
# {{input:i}} does not re.match the input's regex, and the directories left empty.
_FIX_INPUTS = """\
import base64, os, re, sys
args = sys.argv[1:]
for root, base, encoded in zip(args[::3], args[1::3], args[2::3]):
    if base and os.path.isfile(root):
        os.rename(root, root + '.object')
        os.makedirs(root)
        os.rename(root + '.object', os.path.join(root, base))
    if not encoded or not os.path.isdir(root):
        continue
    pattern = re.compile(base64.b64decode(encoded).decode('utf-8'))
    for folder, _, files in os.walk(root, topdown=False):
        for name in files:
            path = os.path.join(folder, name)
            if not pattern.match(os.path.relpath(path, root)):
                os.remove(path)
        if folder != root and not os.listdir(folder):
            os.rmdir(folder)
"""

# Copies every file under the source whose relative path re.matches the pattern to the target.
_COPY_MATCHING = """\
import base64, os, re, shutil, sys
source, target, encoded = sys.argv[1:4]
pattern = re.compile(base64.b64decode(encoded).decode('utf-8'))
os.makedirs(target, exist_ok=True)
for folder, _, files in os.walk(source):
    for name in files:
        path = os.path.join(folder, name)
        relative = os.path.relpath(path, source)
        if pattern.match(relative):
            os.makedirs(os.path.dirname(os.path.join(target, relative)), exist_ok=True)
            shutil.copy2(path, os.path.join(target, relative))
"""


def encode(regex: str) -> str:
    return base64.b64encode(regex.encode("utf-8")).decode("ascii")


@records.typed_equality
class InputFix(NamedTuple):
    """What the input helper does for one input: place a single object, and/or filter."""

    path: str
    basename: str | None
    regex: str | None


INPUT_VOLUME = "osmo-input"


def input_fix_container(image: str, fixes: list[InputFix]) -> model.Container:
    """The init container that runs after Argo downloaded the inputs, before the command starts.

    It sees the inputs through `mirrorVolumeMounts`; they live in the `osmo-input` emptyDir (Argo
    writes an artifact whose path is inside a volume into that volume), so they can be moved.
    """
    command = ["python3", "-c", _FIX_INPUTS]
    for fix in fixes:
        # The basename is rendered URL text (Argo completes it like the URL); the regex is raw
        # user text, which base64 keeps away from Argo's substitution.
        command += [fix.path, fix.basename or "", encode(fix.regex) if fix.regex else ""]
    return {
        "name": "osmo-inputs",
        "image": image,
        "command": command,
        "mirrorVolumeMounts": True,
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
    }


def copy_matching_command(source: str, target: str, regex: str) -> list[str]:
    return ["python3", "-c", _COPY_MATCHING, source, target, encode(regex)]

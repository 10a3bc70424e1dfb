"""OSMO's `regex` data filters, run with Python's `re` exactly as OSMO's data client does.

OSMO moves a file only if `re.match(regex, path relative to the location)` succeeds
(src/lib/data/storage/backends/s3.py, uploading.py). Argo artifacts have no filter, so:
- inputs: an init container in the task's pod (which sees the downloaded artifacts through
  `mirrorVolumeMounts`) deletes the files that do not match, before the user command starts;
- outputs: a step after the task downloads the task's output from intermediate storage and
  uploads only the matching files to the output location.
The regex reaches the helper base64-encoded: it is user text, and base64 has no `{{` for Argo
to substitute.
"""

from __future__ import annotations

import base64

# Removes, under each root, every file whose relative path does not re.match the pattern, then
# the directories left empty.
_KEEP_MATCHING = """\
import base64, os, re, sys
args = sys.argv[1:]
for root, encoded in zip(args[::2], args[1::2]):
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


def keep_matching_command(filters: list[tuple[str, str]]) -> list[str]:
    command = ["python3", "-c", _KEEP_MATCHING]
    for root, regex in filters:
        command += [root, encode(regex)]
    return command


def copy_matching_command(source: str, target: str, regex: str) -> list[str]:
    return ["python3", "-c", _COPY_MATCHING, source, target, encode(regex)]

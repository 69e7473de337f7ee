# shellcheck shell=bash
# Source me: puts the venv on PATH and makes `livechat.stack.*` resolve to this working tree.
_lc_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$_lc_repo/.cache/collections/ansible_collections/livechat"
ln -sfn "$_lc_repo" "$_lc_repo/.cache/collections/ansible_collections/livechat/stack"
export ANSIBLE_COLLECTIONS_PATH="$_lc_repo/.cache/collections"
export PYTHONPATH="$_lc_repo/.cache/collections${PYTHONPATH:+:$PYTHONPATH}"
[ -f "$_lc_repo/.venv/bin/activate" ] && . "$_lc_repo/.venv/bin/activate"
unset _lc_repo

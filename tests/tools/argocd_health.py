"""Runs an Argo CD health check (Lua) the way Argo CD does: the script is a
chunk run with the resource as the global `obj`, returning a table with
`status` and `message`. Argo CD embeds gopher-lua, a Lua 5.1, so this runs
the script in lupa's Lua 5.1.

Usage: argocd_health.py SCRIPT.lua < objects.json (a JSON list of resources)
Prints a JSON list of {"status": ..., "message": ...}, one per resource.
"""

import json
import sys

from lupa import lua51


def main() -> None:
    script = open(sys.argv[1], encoding="utf-8").read()
    results = []
    for resource in json.load(sys.stdin):
        lua = lua51.LuaRuntime(unpack_returned_tuples=True)
        lua.globals().obj = lua.table_from(resource, recursive=True)
        health = lua.execute(script)
        results.append({"status": health["status"], "message": health["message"]})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()

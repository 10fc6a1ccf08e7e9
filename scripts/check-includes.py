#!/usr/bin/python3
"""check-includes.py [SRC] - the shape of the tree under SRC (default src):
  - no include cycle: a module is a .c and its .h (src/daemon/host.{c,h});
    an #include "dir/name.h" makes an edge from the including module to
    dir/name, and no module may reach itself through those edges;
  - dependencies point down the layers (basic -> store, disk, net, qemu,
    batch -> core -> daemon, cli, starter): no include of a higher layer;
  - no file over 800 lines (what one reader can hold).
One line per violation and exit 1; else one summary line and exit 0.
--self-test: the same checks on small trees made here, one clean and one
with each violation, so that a check that cannot fail is found out."""
import os, re, sys, tempfile

LAYERS = {"basic": 0, "store": 1, "disk": 1, "net": 1, "qemu": 1, "batch": 1,
          "core": 2, "daemon": 3, "cli": 3, "starter": 3, "web": 3}
MAX_LINES = 800
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z]+/[A-Za-z0-9_.-]+)\.h"', re.M)

def check(src):
    problems, graph, files = [], {}, 0
    for dirpath, _, names in os.walk(src):
        for n in sorted(names):
            if not n.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, n)
            rel = os.path.relpath(path, src)
            text = open(path, encoding="utf-8", errors="replace").read()
            files += 1
            lines = text.count("\n")
            if lines > MAX_LINES:
                problems.append("%s: %d lines, over %d: split it by responsibility" % (rel, lines, MAX_LINES))
            mod = os.path.splitext(rel)[0]
            layer = mod.split("/")[0]
            for inc in INCLUDE.findall(text):
                if inc == mod or not os.path.exists(os.path.join(src, inc + ".h")):
                    continue  # its own header, or one made by the build
                graph.setdefault(mod, set()).add(inc)
                to = inc.split("/")[0]
                if layer in LAYERS and to in LAYERS and LAYERS[to] > LAYERS[layer]:
                    problems.append("%s includes %s.h: %s may not depend on %s (the layers point down)" % (rel, inc, layer, to))
    # cycles: depth-first search, reporting each cycle once by its members
    seen_cycles, state = set(), {}
    def visit(m, stack):
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                cyc = stack[stack.index(n):]
                key = frozenset(cyc)
                if key not in seen_cycles:
                    seen_cycles.add(key)
                    problems.append("include cycle: " + " -> ".join(cyc + [n]))
            elif n not in state:
                visit(n, stack)
        stack.pop()
        state[m] = 2
    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    return problems, files, sum(len(v) for v in graph.values())

def self_test():
    def tree(files):
        d = tempfile.mkdtemp(prefix="check-includes-")
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
            open(os.path.join(d, rel), "w").write(text)
        return d
    clean = {"basic/a.h": "", "basic/a.c": '#include "basic/a.h"\n', "daemon/x.h": '#include "basic/a.h"\n',
             "daemon/x.c": '#include "daemon/x.h"\n', "daemon/y.c": '#include "daemon/x.h"\n'}
    cases = [("clean", clean, None),
             ("cycle", dict(clean, **{"daemon/x.c": '#include "daemon/y.h"\n', "daemon/y.h": "",
                                      "daemon/y.c": '#include "daemon/x.h"\n'}), "include cycle"),
             ("layer", dict(clean, **{"basic/a.c": '#include "daemon/x.h"\n'}), "may not depend on daemon"),
             ("long", dict(clean, **{"daemon/z.c": "\n" * 801}), "801 lines, over 800")]
    bad = 0
    for name, files, want in cases:
        problems, _, _ = check(tree(files))
        got = "; ".join(problems)
        okay = (not problems) if want is None else any(want in p for p in problems)
        print("%s self-test %s: %s" % ("ok" if okay else "FAILED", name, got or "no problems"))
        bad += not okay
    return 1 if bad else 0

if __name__ == "__main__":
    if sys.argv[1:2] == ["--self-test"]:
        sys.exit(self_test())
    src = sys.argv[1] if len(sys.argv) > 1 else "src"
    problems, files, edges = check(src)
    for p in problems:
        print("check-includes: " + p)
    if problems:
        sys.exit(1)
    print("check-includes: %d files, %d include edges between modules: no cycle, layers point down, none over %d lines"
          % (files, edges, MAX_LINES))

#!/usr/bin/env python3
"""Hostile YAML inputs for the per-run budget: alias bombs across files and
ConfigMaps, an 11-level bomb, 1e6 documents, 500k anchors, and setter files
padded with empty documents. Usage: hostile-yaml.py DIR"""
import os, sys
root = sys.argv[1]
os.makedirs(root, exist_ok=True)
def bomb_body(indent):
    p = ' ' * indent
    lines = [p + 'a: &a [x,x,x,x,x,x,x,x,x,x]']
    prev = 'a'
    for name in 'bcde':
        lines.append(p + f'{name}: &{name} [' + ','.join(['*' + prev] * 10) + ']')
        prev = name
    lines.append(p + 'f: [' + ','.join(['*e'] * 7) + ']')
    return '\n'.join(lines) + '\n'
# 1. build: 32 bomb files
d = f'{root}/build32'; os.makedirs(d, exist_ok=True)
names = []
for i in range(32):
    n = f'b{i:02}.yaml'; names.append(n)
    open(f'{d}/{n}', 'w').write(f'apiVersion: example.com/v1\nkind: Bomb\nmetadata:\n  name: b{i:02}\nspec:\n' + bomb_body(2))
open(f'{d}/kustomization.yaml', 'w').write('resources:\n' + ''.join(f'- {n}\n' for n in names))
print('bomb file size', os.path.getsize(f'{d}/b00.yaml'))
# 2. values compose: 16 ConfigMaps
d = f'{root}/values16'; os.makedirs(d, exist_ok=True)
refs = ''.join(f'    - kind: ConfigMap\n      name: v{i:02}\n' for i in range(16))
open(f'{d}/release.yaml', 'w').write('apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: r\n  namespace: apps\nspec:\n  interval: 1m\n  chart:\n    spec:\n      chart: c\n      sourceRef: {kind: HelmRepository, name: r}\n  valuesFrom:\n' + refs)
cms = []
for i in range(16):
    cms.append(f'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: v{i:02}\n  namespace: apps\ndata:\n  values.yaml: |\n' + bomb_body(4).replace('f:', f'f{i}:'))
open(f'{d}/cms.yaml', 'w').write('---\n'.join(cms))
# 3. single 11-level bomb
d = f'{root}/bomb11'; os.makedirs(d, exist_ok=True)
src = 'apiVersion: example.com/v1\nkind: Bomb\nmetadata:\n  name: b\nspec:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n'
for i in range(1, 12):
    src += f'  a{i}: &a{i} [' + ', '.join([f'*a{i-1}'] * 10) + ']\n'
open(f'{d}/bomb.yaml', 'w').write(src)
open(f'{d}/kustomization.yaml', 'w').write('resources:\n- bomb.yaml\n')
# 4. 1e6 documents, 9 MB
d = f'{root}/docs1e6'; os.makedirs(d, exist_ok=True)
open(f'{d}/docs.yaml', 'w').write('---\nx: 1\n' * 1000000)
open(f'{d}/kustomization.yaml', 'w').write('resources:\n- docs.yaml\n')
# 5. 500k anchors
d = f'{root}/anchors'; os.makedirs(d, exist_ok=True)
open(f'{d}/a.yaml', 'w').write('apiVersion: example.com/v1\nkind: A\nmetadata:\n  name: a\nspec:\n' + ''.join(f'  k{i}: &a{i} v\n' for i in range(500000)))
open(f'{d}/kustomization.yaml', 'w').write('resources:\n- a.yaml\n')
# 6. setters: marker + 40 MB of ---
d = f'{root}/setters40'; os.makedirs(d, exist_ok=True)
open(f'{d}/m.yaml', 'w').write('image: ghcr.io/org/app:1.0.0 # {"$imagepolicy": "flux-system:app"}\n' + '---\n' * (10 * 1024 * 1024))
d = f'{root}/setters64'; os.makedirs(d, exist_ok=True)
body = 'image: ghcr.io/org/app:1.0.0 # {"$imagepolicy": "flux-system:app"}\n'
open(f'{d}/m.yaml', 'w').write(body + '---\n' * ((64 * 1024 * 1024 - len(body)) // 4))

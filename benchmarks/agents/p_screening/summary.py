# ruff: noqa  (P's issue-12 screening scripts, as they ran but for paths, now relative to this folder)
import collections
import glob
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

rows = {}
for l in open(HERE / 'results.jsonl'):
    r = json.loads(l)
    if r['status'] == 'crash' or 'APIConnectionError' in r['error']:
        continue
    rows[(r['label'], r['task'])] = r
by = collections.defaultdict(list)
for (lab, t), r in rows.items():
    by[lab].append(r)
for lab, rs in by.items():
    solved = [r['task'] for r in rs if r['solved']]
    fe = sum(r['format_errors'] for r in rs); calls = sum(r['calls'] for r in rs)
    exp = sum(r['expansions'] for r in rs)
    print(f"{lab}: tasks={','.join(r['task'] for r in rs)} solved={len(solved)}/{len(rs)} ({','.join(solved)}) fmt={fe} expansions={exp} calls={calls}")
# nested-placeholder treatment exercised?
for f in glob.glob(str(HERE / 'cassettes' / '*' / '*.run.json')):
    d = json.load(open(f))
    nodes = d['nodes'].values() if isinstance(d['nodes'], dict) else d['nodes']
    for n in nodes:
        call = n.get('call') or n.get('code') or ''
        name = n.get('name', '')
        if name.split('_')[0] in ('loop', 'branch', 'with', 'try', 'lambda') or '_result = ' in str(n.get('call', '')):
            print('L2 exercised:', f.split('/')[-2:], name)

#!/usr/bin/env python3
"""Prints an assessment's CORPUS.md table from stored run results.

Usage: scripts/corpus_table.py ASSESSMENT RESULTS   (RESULTS/reference/run-results.json and
RESULTS/<variant>/run-results.json, e.g. target/assay-corpus/ASSESSMENT after `make test`)

Scores follow assay-grader's rules (weights, critical caps, rounding) under the current
weights, as `assay regrade` would; "others' max move" counts the timed checks as the
reference measured them unless the variant is aimed at performance, as tests/it/corpus.rs
does. Needs PyYAML.
"""
import yaml,glob,json,sys,os,collections
SK=['languages','databases','api-design','devops','security','version-control','problem-solving','performance','frameworks','communication']
a=sys.argv[1]; base=sys.argv[2]
A=os.path.join(os.path.dirname(os.path.abspath(__file__)),'..','assessments',a)
P={}; TIMED=set()
for f in sorted(glob.glob(f'{A}/suites/*.yaml')):
    d=yaml.safe_load(open(f))
    for c in d.get('checks',[]):
        P[c['id']]=(c['skills'],c.get('critical',[]))
        if 'load' in c or 'growth' in c or (c.get('lifecycle') or {}).get('within'): TIMED.add(c['id'])
prof=yaml.safe_load(open(f'{A}/assessment.yaml'))['profiles']['backend-senior']['weights']
def rnd(x,s=10):
    import math
    v=math.floor(abs(x)*s+0.5)/s
    return v if x>=0 else -v
def grade(rr):
    res={c['id']:c for c in rr['checks']}
    tot=collections.Counter(); earn=collections.Counter(); capped=set(); failed=[]; missing=[]
    for cid,(sk,crit) in P.items():
        c=res.get(cid)
        if c is None: st,cr,part='skipped',0.0,False; missing.append(cid)
        else: st,cr,part=c['status'],rnd(min(max(c['credit'],0),1),1000),c.get('partial',False)
        if st=='not_assessed': continue  # counts for no skill, as in assay-grader
        if st in('skipped','error'): cr=0.0
        if st!='pass': failed.append(cid)
        for k,w in sk.items(): tot[k]+=w; earn[k]+=w*cr
        if crit and st in('fail','error') and not (part and st=='fail'): capped|=set(crit)
    sc={}
    for k in SK:
        if tot[k]==0: sc[k]=None; continue
        s=rnd(100*earn[k]/tot[k])
        if k in capped and s>60: s=60.0
        sc[k]=s
    num=sum(prof[k]*sc[k] for k in SK if sc[k] is not None and prof.get(k)); den=sum(prof[k] for k in SK if sc[k] is not None and prof.get(k))
    return sc,rnd(num/den),failed,missing,bool(capped)
ref_rr=json.load(open(f'{base}/reference/run-results.json'))
ref,refo,reff,refm,_=grade(ref_rr)
rows=[]
AB=['lang','db','api','ops','sec','vcs','ps','perf','fw','comm']
print('| submission | aimed skill | overall | '+' | '.join(AB)+' | its drop | others\' max move | declared also affected | aimed checks failed | other checks failed |')
print('| --- '*(len(AB)+8)+'|')
f=lambda x:'–' if x is None else f'{x:.1f}'
print(f"| reference | – | {refo:.1f} | "+' | '.join(f(ref[k]) for k in SK)+" | – | – | – | – | "+(', '.join(reff) or '–')+" |")
bad=0
for v in sorted(os.listdir(f'{A}/variants')):
    p=f'{base}/{v}/run-results.json'
    m=yaml.safe_load(open(f'{A}/variants/{v}/variant.yaml'))
    if m.get('kind')=='good': continue  # no defect, no aimed skill: CORPUS.md's own section
    aim=m['skill']; also=m.get('also_affected') or {}; ef=m['expect_fail']
    if not os.path.exists(p): print(f"| {v} | {aim} | not graded in this round |"); continue
    rr=json.load(open(p))
    sc,o,failed,missing,_=grade(rr)
    steady=sc
    if aim!='performance':
        rref={c['id']:c for c in ref_rr['checks']}
        rr2=dict(rr); rr2['checks']=[rref.get(c['id'],c) if c['id'] in TIMED else c for c in rr['checks']]
        steady=grade(rr2)[0]
    drop=(ref[aim] or 0)-(sc[aim] or 0)
    others=[(k,rnd((ref[k] or 0)-(steady[k] or 0))) for k in SK if k!=aim and k not in also]
    k,mv=max(others,key=lambda kv:abs(kv[1]))
    if drop<20 or abs(mv)>10: bad+=1
    aimed=sum(1 for c in ef if c in failed)
    other=[c for c in failed if c not in ef and c not in reff]
    print(f"| {v} | {aim} | {o:.1f} | "+' | '.join(f(sc[x]) for x in SK)+f" | {drop:.1f} | {abs(mv):.1f} ({k}) | {', '.join(also) or '–'} | {aimed}/{len(ef)} | {', '.join(other) or '–'} |"+(f" MISSING {missing}" if missing else ''))
print(f"\n<!-- violations: {bad} -->", file=sys.stderr)

#!/usr/bin/env python
"""The denoiser with and without the voice model at 44.1 kHz: ``python benchmarks/quality/rate_check.py [tune|test]``.

Each speech item and its noise clip are resampled to 44.1 kHz (soxr), denoised with the noise
clip (``USM_LAMBDA`` None and 0.4), resampled back and scored against the 22.05 kHz stems.
"""
import sys
from pathlib import Path

import numpy as np
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import nmfaudio  # noqa: E402
import run  # noqa: E402
from threadpoolctl import threadpool_limits
threadpool_limits(1)
dn=sys.modules['nmfaudio.denoise']
part = sys.argv[1] if len(sys.argv) > 1 else 'tune'
data=run.DEFAULT_DATA
rows={None:[],0.4:[]}
for e in run.read_manifest(data)['items']:
    if e['kind']!='speech' or e['part']!=part: continue
    it=run.load_item(data,e)
    up=lambda x: soxr.resample(x, it.sr, 44100).astype(np.float32)
    y, noise = up(it.mixture), up(it.train['noise'])
    for lam in rows:
        dn.USM_LAMBDA=lam
        c=nmfaudio.denoise(y,44100,noise=noise)
        c=soxr.resample(c,44100,it.sr).astype(np.float32)[:it.mixture.size]
        c=np.pad(c,(0,it.mixture.size-c.size))
        s,_=run._score(it, run._speech_and_rest(it,c), False, None)
        rows[lam].append([s['sdr'],s['si_sdr'],s['stoi'],s['pesq']])
    print(e['id'], rows[None][-1][0], rows[0.4][-1][0], flush=True)
for lam,a in rows.items():
    a=np.array(a); print(lam, 'SDR %.2f SI-SDR %.2f STOI %.3f PESQ %.2f'%tuple(a.mean(0)), 'better', int(((a[:,0]-np.array(rows[None])[:,0])>0.05).sum()))

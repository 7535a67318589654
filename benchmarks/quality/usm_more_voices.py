#!/usr/bin/env python
"""More voices in the universal speech model? ``python benchmarks/quality/usm_more_voices.py noise|blind LAMBDA ...``

The bundled 36 voice blocks plus 24 more espeak-ng voices (none of split.json), 8 KL templates
each on 30 s, swapped in for ``nmfaudio._usm.templates``; the tune part denoised with the
defaults at each λ. Run from the repository root with ``PYTHONPATH=.``; caches the extended
templates in /tmp/usm_ext_W.npz.
"""
import sys, numpy as np
sys.path.insert(0, '/work/main/benchmarks/quality'); sys.path.insert(0, '/work/main')
import nmfaudio, run, usm
from nmfaudio import _usm
from nmfaudio.dictionary import spectrogram
from threadpoolctl import threadpool_limits
threadpool_limits(1, user_api="blas")
dn = sys.modules['nmfaudio.denoise']
mode = sys.argv[1]; lams = [float(x) for x in sys.argv[2:]]
EXTRA = ["de+m4", "de+f3", "fr+m2", "fr+f4", "es+m3", "es+f1", "it+m1", "it+f2", "pt+m2", "pt+f1",
         "nl+m2", "nl+f2", "pl+f2", "sv+m2", "da+m1", "fi+f1", "cs+m2", "hu+f2", "en-us+m6", "en-gb+f5",
         "en+m3", "en-us+f1+Alex", "el+m1", "tr+f2"]
cache = '/tmp/usm_ext_W.npz'
import os
if not os.path.exists(cache):
    from _split_sources import VoicePool
    split_banned = set()
    import json
    sp = json.load(open('/work/main/benchmarks/quality/split.json'))['speech']
    for part in ('tune', 'test'):
        split_banned |= set(sp[part]['voices']) | set(sp[part]['babble_talkers'])
    base = nmfaudio.load_model('speech-voices')
    Ws, gs = [base.W.astype(np.float32)], list(base.info['blocks'])
    G = max(gs) + 1
    pool = VoicePool(np.random.default_rng(1), usm.SENTENCES * 4, 22050)
    params = dn.default_denoise_stft(22050)
    for v in EXTRA:
        if f"espeak:{v}" in split_banned: continue
        try:
            x, _ = pool.take(f"espeak:{v}", 30.0)
        except Exception as exc:
            print('skip', v, exc); continue
        V = spectrogram(x.astype(np.float32), stft_params=params, power=1.0)[1]
        e = V.sum(0); V = np.ascontiguousarray(V[:, e > 1e-3 * np.median(e[e > 0])])
        r = nmfaudio.nmf(V, 8, beta=1.0, max_iter=200, random_state=0)
        Ws.append((r.W / r.W.sum(0, keepdims=True)).astype(np.float32)); gs += [G] * 8; G += 1
    np.savez(cache, W=np.concatenate(Ws, 1), g=np.array(gs))
z = np.load(cache); print('voices', z['g'].max() + 1, flush=True)
_usm.templates = lambda params, sr, dtype=np.float32: (z['W'].astype(dtype), z['g'])  # 22.05 kHz, same STFT
entries = [e for e in run.read_manifest(run.DEFAULT_DATA)['items'] if e['kind'] == 'speech' and e['part'] == 'tune']
for lam in lams:
    dn.USM_LAMBDA = lam
    a = []
    for e in entries:
        it = run.load_item(run.DEFAULT_DATA, e)
        c = nmfaudio.denoise(it.mixture, it.sr, noise=it.train['noise'] if mode == 'noise' else None)
        s, _ = run._score(it, run._speech_and_rest(it, c), False, None)
        a.append([s['sdr'], s['si_sdr'], s['stoi'], s['pesq']])
    a = np.array(a)
    print(mode, 'extended', lam, 'SDR %.2f SI-SDR %.2f STOI %.3f PESQ %.2f' % tuple(a.mean(0)), flush=True)

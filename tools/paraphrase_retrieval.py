"""How well MiniLM's pooled sentence embedding alone tells paraphrases apart: for each line of
configs/emoji-paraphrases.tsv, ranks the 3,695 emoji captions of data/emoji-32 by cosine similarity
to the paraphrase and reports top-1 / top-5 (BENCHMARKS.md, issue 5). Needs sentence-transformers:
    python tools/paraphrase_retrieval.py
"""
import json, numpy as np, xml.etree.ElementTree as ET
from sentence_transformers import SentenceTransformer
m = SentenceTransformer('.deps/all-MiniLM-L6-v2', device='cpu')
meta=[json.loads(l) for l in open('data/emoji-32/metadata.jsonl')]
caps=[e['text'] for e in meta]
uniq=sorted(set(caps))
par=[l.rstrip('\n').split('\t') for l in open('configs/emoji-paraphrases.tsv') if not l.startswith('#') and l.strip()]
E=m.encode(uniq, normalize_embeddings=True, batch_size=256)
P=m.encode([p for p,_ in par], normalize_embeddings=True)
S=P@E.T
t1=t5=0
for i,(p,c) in enumerate(par):
    order=np.argsort(-S[i]); r=[uniq[j] for j in order[:5]]
    t1+= r[0]==c; t5+= c in r
    if c not in r: print(p,'->',r[:3])
print('names only: top1',t1/len(par),'top5',t5/len(par))

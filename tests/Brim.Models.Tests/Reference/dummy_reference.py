"""Independent reference of the dummy-weights spec (/src/Brim.Models/Weights/DummyWeights.cs), in plain Python.
Every float32 operation is done in double and rounded to float32, which is exact for one +, -, *, / or sqrt of float32
operands. Its output is the expected values of DummyWeightsTests. Run: python3 dummy_reference.py"""
import struct, math
def f32(x): return struct.unpack('<f', struct.pack('<f', x))[0]
def bits(x): return struct.unpack('<I', struct.pack('<f', x))[0]
M=(1<<64)-1
def fnv(s):
    h=0xcbf29ce484222325
    for b in s.encode():
        h^=b; h=(h*0x100000001b3)&M
    return h
def val(seed,name,i,kind,cols=None):
    h=fnv(name)
    z=(seed&M)^h^((i*0x9E3779B97F4A7C15)&M)
    z=(z+0x9E3779B97F4A7C15)&M
    z=((z^(z>>30))*0xBF58476D1CE4E5B9)&M
    z=((z^(z>>27))*0x94D049BB133111EB)&M
    z^=z>>31
    u=f32(float(z>>40)*2.0**-24)
    r=f32(2*u-1)
    if kind=='norm': v=f32(1+f32(f32(0.1)*r))
    elif kind=='bias': v=f32(f32(0.02)*r)
    else: v=f32(r/f32(math.sqrt(f32(cols))))
    return v
print(hex(fnv("a")), hex(fnv("")))
for args in [(0,"model.layers.0.self_attn.q_proj.weight",0,'m',64),(42,"model.layers.0.self_attn.q_proj.weight",12345,'m',64),(-3,"model.embed_tokens.weight",7,'m',172),(7,"model.norm.weight",3,'norm'),(7,"model.layers.1.self_attn.k_proj.bias",5,'bias')]:
    v=val(*args); print(args, repr(v), hex(bits(v)))

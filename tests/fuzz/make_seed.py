#!/usr/bin/env python3
# Turns an image file into a fuzz seed: u32 block count, then (u32 index, 4 KiB block) for
# every non-zero block. Usage: make_seed.py IMAGE SEED
import struct, sys
img, out = sys.argv[1], sys.argv[2]
with open(img, 'rb') as f, open(out, 'wb') as o:
    data = f.read()
    blocks = len(data) // 4096
    o.write(struct.pack('<I', blocks - 1))
    for i in range(blocks):
        b = data[i * 4096:(i + 1) * 4096]
        if any(b):
            o.write(struct.pack('<I', i) + b)

"""Post-fuse script: add ``normalized_reads`` to every clone, its reads per 100,000 segmented reads of each sample.

Makes samples of different sequencing depth comparable in the follow-up view. Protocol of every post-script:
``normalize_per_100k.py -i fused.vidjil -o out.vidjil`` (reads a fused .vidjil, writes the transformed one).
"""

import argparse
import json
import sys

SCALE = 100_000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-i", "--input", required=True)
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args(argv)
    with open(args.input) as handle:
        fused = json.load(handle)
    segmented = (fused.get("reads") or {}).get("segmented") or []
    for clone in fused.get("clones") or []:
        clone["normalized_reads"] = [round(reads * SCALE / segmented[i], 3) if i < len(segmented) and segmented[i]
                                     else None for i, reads in enumerate(clone.get("reads") or [])]
    fused.setdefault("post_processing", []).append({"script": "normalize_per_100k", "scale": SCALE})
    with open(args.output, "w") as handle:
        json.dump(fused, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())

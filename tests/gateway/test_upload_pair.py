"""A paired-end sample through the REST API: create it with its R2 file name, upload R1 and R2 (file_number=2),
read both back byte-identical (real stack: gateway, samples service, S3)."""

from __future__ import annotations

import hashlib

from gateway_helpers import COLON, SPLEEN, Api


def test_r1_and_r2_of_a_pair_are_uploaded_and_kept(stack, lab_user):
    api = Api(stack.url, lab_user["token"])
    set_id = api.ok("POST", "/sample_sets", 201, json={"kind": "run", "fields": {"name": "paired run"},
                                                       "group_id": lab_user["group_id"]})["id"]
    sample = api.ok("POST", f"/sample_sets/{set_id}/samples", 201,
                    json={"filename": "d1_R1.fastq", "filename2": "d1_R2.fastq"})
    r1, r2 = SPLEEN.read_bytes(), COLON.read_bytes()
    api.ok("PUT", f"/samples/{sample['id']}/file", 200, data=r1)
    stored = api.ok("PUT", f"/samples/{sample['id']}/file", 200, params={"file_number": 2}, data=r2)
    assert stored["size"] == len(r1) and stored["size2"] == len(r2)
    assert stored["sha256"] == hashlib.sha256(r1).hexdigest()
    assert api.get(f"/samples/{sample['id']}/file").content == r1   # R2 did not replace R1
    refused = api.call("PUT", f"/samples/{sample['id']}/file", params={"file_number": 3}, data=r1)
    assert refused.status_code == 422 and refused.json()["error"]["code"]

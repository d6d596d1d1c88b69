"""Client commands of ``repseq`` (talk to a running gateway over the REST API; see repseq/client.py):

    repseq login [--url URL] [--email E]          ask the password, create an API token, save it
    repseq sets [--kind K] [--search S]            list the sets you may read
    repseq create-set patient --first-name A --last-name B [--birth-date D] [--group G]
    repseq upload --set ID FILE... [--sampling-date D] [--info TEXT]   (or --sample ID FILE: an existing sample)
    repseq run --set ID [--config NAME|ID] [--sample ID...] [--wait]
    repseq results --set ID [--config NAME|ID] [--format table|json|tsv|airr|vidjil|svg] [-o FILE] [--top N]
    repseq demo [--url URL]                        demo account + demo patient with two real samples, analysed

Exit codes: 0 success, 1 API error (one line: status, code, message), 2 usage/configuration error.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path

from repseq.client import ApiError, Client, load_credentials, page_url, save_credentials


def _default_url() -> str:
    url = os.environ.get("REPSEQ_URL")
    if url:
        return url
    try:
        return load_credentials()["url"]
    except ApiError:
        pass
    from services.common.config import Settings

    try:
        return Settings.from_env().gateway_url
    except Exception:  # no local configuration: the usual local address
        return "http://127.0.0.1:8080"


def _client(args) -> Client:
    token = os.environ.get("REPSEQ_TOKEN")
    if token:
        return Client(args.url or _default_url(), token)
    return Client.from_saved(args.url)


def _fail(error: ApiError) -> int:
    print(f"error: {error.status} {error.code}: {error.message}", file=sys.stderr)
    for problem in (error.details or {}).get("errors", [])[:5]:
        print(f"  {problem}", file=sys.stderr)
    return 1


def _handled(func):
    def wrapper(args) -> int:
        try:
            return func(args)
        except ApiError as error:
            return _fail(error)
        except TimeoutError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        except OSError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    return wrapper


@_handled
def cmd_login(args) -> int:
    url = args.url or _default_url()
    email = args.email or input("e-mail: ").strip()
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
    client = Client(url)
    client.login(email, password)
    token = client.create_token(args.token_name)
    client.logout()
    path = save_credentials(url, token, email)
    print(f"logged in to {url} as {email}; API token saved in {path}")
    return 0


@_handled
def cmd_sets(args) -> int:
    listing = _client(args).list_sets(args.kind, args.search or "", args.page)
    for item in listing.get("items", []):
        count = item.get("sample_count", 0)
        print(f"{item['id']:>6}  {item['kind']:8} {item.get('name') or '':30} {count:>4} "
              f"{'sample ' if count == 1 else 'samples'}  {' '.join('#' + t for t in item.get('tags', []))}")
    print(f"page {listing.get('page')} · {listing.get('total')} in all", file=sys.stderr)
    return 0


@_handled
def cmd_create_set(args) -> int:
    fields = {k: v for k, v in {
        "first_name": args.first_name, "last_name": args.last_name, "birth_date": args.birth_date,
        "label": args.label, "name": args.name, "run_date": args.run_date, "info": args.info,
    }.items() if v}
    created = _client(args).create_set(args.kind, fields, args.group)
    print(json.dumps(created) if args.json else created["id"])
    return 0


@_handled
def cmd_upload(args) -> int:
    """One sample per file (or the file of ``--sample``). A file that fails is reported on one line (its sample
    is removed, see :meth:`repseq.client.Client.upload`) and the next files are still sent; exit 1 if any failed."""
    if (args.set is None) == (args.sample is None):
        print("error: give either --set ID (new samples) or --sample ID (the file of an existing sample)",
              file=sys.stderr)
        return 2
    if args.sample is not None and len(args.files) != 1:
        print("error: --sample takes exactly one file", file=sys.stderr)
        return 2
    client = _client(args)
    failed = 0
    for path in args.files:
        def progress(sent, total, name=Path(path).name):
            if sys.stderr.isatty():
                print(f"\r{name}: {100 * sent // max(total, 1):3d}%", end="", file=sys.stderr)
        try:
            if args.sample is not None:
                sample = client.upload_file(args.sample, path, progress)
            else:
                sample = client.upload(args.set, path, args.sampling_date, args.info or "", progress)
        except ApiError as error:
            if sys.stderr.isatty():
                print(file=sys.stderr)
            _fail(error)
            failed += 1
            continue
        except OSError as error:
            if sys.stderr.isatty():
                print(file=sys.stderr)
            print(f"error: {error}", file=sys.stderr)
            failed += 1
            continue
        if sys.stderr.isatty():
            print(file=sys.stderr)
        print(f"{sample['id']}\t{sample.get('filename')}\t{sample.get('size')} bytes\t{sample.get('status')}")
    return 1 if failed else 0


def _print_states(latest: dict) -> None:
    line = ", ".join(f"sample {sample_id}: {job['state']}" for sample_id, job in sorted(latest.items()))
    print(line, file=sys.stderr)


@_handled
def cmd_run(args) -> int:
    client = _client(args)
    config_id = client.config_id(args.config)
    result = client.run(args.set, config_id, args.sample or None)
    for job in result.get("launched", []):
        print(f"job {job['id']}\tsample {job['sample_id']}\t{job['state']}")
    for skipped in result.get("skipped", []):
        print(f"skipped sample {skipped.get('sample_id')}: {skipped.get('reason')}", file=sys.stderr)
    if args.wait:
        jobs = client.wait(args.set, config_id, timeout=args.timeout, on_change=_print_states)
        failed = [j for j in jobs if j["state"] != "COMPLETED"]
        for job in failed:
            print(f"job {job['id']} (sample {job['sample_id']}) {job['state']}: {job.get('reason') or ''}",
                  file=sys.stderr)
        if failed:
            return 1
        if jobs:   # `repseq results` right after must show them: wait for the fuse that follows the analyses
            client.wait_fused_jobs(args.set, config_id, jobs, timeout=min(args.timeout, 300))
        print(f"results: {page_url(client.url, args.set, config_id)}")
    return 0


def _share(value) -> str:
    return "-" if value is None else f"{100 * value:.3f}%"


@_handled
def cmd_results(args) -> int:
    client = _client(args)
    config_id = client.config_id(args.config)
    fmt = args.format
    if fmt == "table" or fmt == "json":
        table = client.clones(args.set, config_id, args.top)
        if fmt == "json":
            text = json.dumps(table, indent=2)
        else:
            names = [s["name"] for s in table["samples"]]
            lines = ["\t".join(["rank", "name", "V", "D", "J", "CDR3", *names])]
            for row in table["clones"]:
                cells = [f"{r} ({_share(s)})" for r, s in zip(row["reads"], row["shares"])]
                lines.append("\t".join(str(x) for x in [row["rank"], row["display_name"], row["v"] or "?",
                                                        row["d"] or "", row["j"] or "?", row["cdr3_aa"] or "",
                                                        *cells]))
            text = "\n".join(lines) + "\n"
            # why a sample lists no clone (e.g. every clone under the config's minimum of reads): on stderr, so
            # that the table stays a table
            for note in table.get("notes") or []:
                print(f"note: {note}", file=sys.stderr)
        data = text.encode()
    else:
        what = {"tsv": "clones.tsv", "airr": "clones.airr.tsv", "vidjil": "", "svg": "plot.svg"}[fmt]
        data = client.export(args.set, config_id, what, args.top if fmt in ("tsv", "svg") else None)
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"wrote {args.output} ({len(data)} bytes)", file=sys.stderr)
    else:
        sys.stdout.write(data.decode())
    return 0


def cmd_demo(args) -> int:
    from repseq.demo import run_demo

    return run_demo(args.url, timeout=args.timeout, state_path=args.state)


def add_commands(top, admin) -> None:
    """Register the client commands (see the module docstring)."""
    def with_url(parser):
        parser.add_argument("--url", help="gateway URL (default: saved by `repseq login`, $REPSEQ_URL, or local)")
        return parser

    login = with_url(top.add_parser("login", help="log in to a gateway and save an API token"))
    login.add_argument("--email")
    login.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    login.add_argument("--token-name", default="repseq command line")
    login.set_defaults(func=cmd_login)

    sets = with_url(top.add_parser("sets", help="list the sample sets you may read"))
    sets.add_argument("--kind", choices=("patient", "run", "generic"))
    sets.add_argument("--search", help="words and #tags")
    sets.add_argument("--page", type=int, default=1)
    sets.set_defaults(func=cmd_sets)

    create = with_url(top.add_parser("create-set", help="create a patient, run or generic set; prints its id"))
    create.add_argument("kind", choices=("patient", "run", "generic"))
    for option in ("--first-name", "--last-name", "--birth-date", "--label", "--name", "--run-date", "--info"):
        create.add_argument(option)
    create.add_argument("--group", type=int, help="owning group id (default: your first group with create)")
    create.add_argument("--json", action="store_true", help="print the whole set as JSON")
    create.set_defaults(func=cmd_create_set)

    upload = with_url(top.add_parser("upload", help="add samples to a set and upload their files (streamed)"))
    upload.add_argument("--set", type=int, help="sample set id: one new sample per file")
    upload.add_argument("--sample", type=int, help="upload the file of this existing sample instead (one file)")
    upload.add_argument("--sampling-date", help="YYYY-MM-DD")
    upload.add_argument("--info")
    upload.add_argument("files", nargs="+")
    upload.set_defaults(func=cmd_upload)

    run = with_url(top.add_parser("run", help="launch the analysis of a set's samples"))
    run.add_argument("--set", type=int, required=True)
    run.add_argument("--config", help="configuration name or id (default: the first one)")
    run.add_argument("--sample", type=int, action="append", help="only this sample (repeat)")
    run.add_argument("--wait", action="store_true", help="wait until the jobs finish and the set's fused result holds them")
    run.add_argument("--timeout", type=float, default=3600)
    run.set_defaults(func=cmd_run)

    results = with_url(top.add_parser("results", help="download the results of a set (clone table, exports)"))
    results.add_argument("--set", type=int, required=True)
    results.add_argument("--config", help="configuration name or id (default: the first one)")
    results.add_argument("--format", choices=("table", "json", "tsv", "airr", "vidjil", "svg"), default="table")
    results.add_argument("--top", type=int, default=20)
    results.add_argument("-o", "--output")
    results.set_defaults(func=cmd_results)

    demo = with_url(top.add_parser("demo", help="demo account and demo patient with two real samples, analysed"))
    demo.add_argument("--timeout", type=float, default=900)
    demo.add_argument("--state", help="file keeping the demo passwords (default: $REPSEQ_VAR_DIR/demo.json)")
    demo.set_defaults(func=cmd_demo)

"""CPU per `POST /enrolments` in one process, with nothing else running: the floor under `make bench`'s figure.

    python -m bench.post_cpu [N] [--profile FILE]

After `python -m bench.run generate`: the enrolment app on the bench databases (its queue on
PostgreSQL there, as in the benchmark), Flask's test client, N POSTs (default 300) of HR of
organisation "150" each enrolling a new participant into the open offerings in turn, after 30 to
warm up. Prints CPU (time.process_time) and wall time per POST; with --profile, cProfile's
statistics of another N go to FILE (read with `python -m pstats FILE`).
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import secrets
import time

from bench.run import PG, app_env, fixtures, hr_token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("count", nargs="?", type=int, default=300)
    parser.add_argument("--profile")
    args = parser.parse_args()
    fx = fixtures("100k")
    os.environ.update(app_env(fx["catalogue_db"], fx["enrolment_db"]), JOBS_URL=f"{PG}/{fx['enrolment_db']}")
    import enrolment

    app = enrolment.create_app()
    logging.getLogger().setLevel(logging.WARNING)  # no access log line per POST
    client, token, tag = app.test_client(), hr_token(fx["hr_organisation"]), secrets.token_hex(3)
    offerings = fx["open_offering_ids"]

    def post(number: int) -> None:
        response = client.post("/enrolments", headers={"Authorization": f"Bearer {token}"}, json={
            "offering_id": offerings[(number * 7919) % len(offerings)],
            "participant": {"name": "Bench Deltager", "email": f"cpu-{tag}-{number}@bench.example"}})
        assert response.status_code == 201, response.get_data(as_text=True)

    for number in range(30):
        post(number)
    cpu, wall = time.process_time(), time.perf_counter()
    for number in range(30, 30 + args.count):
        post(number)
    print(f"{1000 * (time.process_time() - cpu) / args.count:.2f} ms CPU, "
          f"{1000 * (time.perf_counter() - wall) / args.count:.2f} ms wall per POST ({args.count} POSTs)")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [post(number) for number in range(30 + args.count, 30 + 2 * args.count)])
        profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()

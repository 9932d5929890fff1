"""National-scale benchmark data, loaded with PostgreSQL COPY into fresh databases.

    python -m bench.generate --offerings 100000 --enrolments 500000 --seed 1 \
        --catalogue-db glu_bench_cat_100k --enrolment-db glu_bench_enr_100k --fixtures /tmp/fixtures.json

What it makes (everything invented and labelled as such; reproducible from --seed):
- the GLU programme and its six modules, as the seed has them;
- ~100 providers ("Benchmark-skole NNN"), each with 1–3 locations;
- 98 organisations, one per municipality, keyed "101"…"198" — INVENTED codes and names
  ("Kommune 101 (bench)"), not the official municipality codes — spread over the five real regions;
- N offerings over five years (two back, three ahead of today), 2–3 sessions each, with their
  derived columns (starts_at/ends_at, search_text of module/provider/location via catalogue.search);
- M enrolments over the organisations (participants with 1–6 courses each), the offering_seats
  rows with their confirmed/waitlisted counts (on which the enrolment service decides) and the
  OfferingSchema snapshot it keeps, and the catalogue's seats_taken/waitlist_length/seats_version
  in step with them;
- one participant with exactly 10 courses and one organisation ("198") whose enrolments cover
  about 1,000 sessions, for the feed benchmarks; their secrets go to --fixtures;
- one open offering with room for 100,000 (`probe_offering_id` in --fixtures), which no other
  load touches, for bench/run.py's seat-count lag probe (HR of organisation "149").

Databases are dropped and created anew, migrated with `flask --app … db upgrade` (a subprocess,
the real migrations), then filled with COPY (psycopg 3 `cursor.copy`), then ANALYZEd.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

from catalogue.models import Location, Module, Provider
from catalogue.search import index_location, index_module, index_provider
from catalogue.seed import DAILY_FEES_DKK, MODULES, PROGRAMME, SCHOOL_DAYS, SESSION_PATTERNS, is_teaching_day
from shared.geography import REGIONS
from shared.schemas import COPENHAGEN, OfferingSchema

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
PUBLIC_URL = "http://127.0.0.1:5101"

PROVIDERS = 100
MUNICIPALITIES = [str(code) for code in range(101, 199)]  # 98 invented keys
FEED_ORGANISATION = "198"
FEED_ORGANISATION_SESSIONS = 1000
FEED_PARTICIPANT_COURSES = 10
PROBE_ORGANISATION = "149"  # the lag probe's HR; the POST load is organisation "150"'s
PROBE_CAPACITY = 100_000
YEARS_BACK, YEARS_AHEAD = 2, 3
FIRST_NAMES = ("Anne", "Bent", "Carla", "Dorthe", "Erik", "Freja", "Gustav", "Hanne", "Ib", "Jonas", "Karen",
               "Lars", "Mette", "Niels", "Ole", "Pia", "Rasmus", "Sofie", "Tove", "Ulla", "Vagn", "Yrsa", "Åse")
LAST_NAMES = ("Hansen", "Jensen", "Nielsen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
              "Rasmussen", "Jørgensen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Møller", "Østergaard")
COURSES_PER_PERSON = ((1, 40), (2, 25), (3, 15), (4, 10), (5, 6), (6, 4))


# --- progress ---------------------------------------------------------------------------------------

class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, label: str, total: int):
        self.label, self.total, self.done, self.started, self.shown = label, max(total, 1), 0, time.monotonic(), 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.shown > 0.5 or self.done == self.total:
            self.shown = now
            share = min(self.done / self.total, 1.0)
            bar = "#" * int(share * 30)
            sys.stderr.write(f"\r  {self.label:<28} [{bar:<30}] {share:6.1%} {self.done:>9,}/{self.total:,}"
                             f" {now - self.started:6.1f}s")
            sys.stderr.flush()

    def close(self) -> None:
        if self.done < self.total:
            self.done, self.shown = self.total - 1, 0.0
            self.advance()
        sys.stderr.write("\n")


# --- databases --------------------------------------------------------------------------------------

def database_url(name: str) -> str:
    return f"{PG}/{name}"


def recreate_database(name: str) -> None:
    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def migrate(service: str, name: str) -> None:
    env = dict(os.environ, GLU_TOKEN_SECRET=os.environ.get("GLU_TOKEN_SECRET", "bench-secret"),
               **{f"{service.upper()}_DATABASE_URL": database_url(name)})
    flask = str(Path(sys.executable).parent / "flask")
    subprocess.run([flask, "--app", service, "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def copy_rows(conn: psycopg.Connection, table: str, columns: list[str], rows, total: int) -> None:
    bar = Progress(f"{conn.info.dbname[-14:]}.{table}", total)
    with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
        for i, row in enumerate(rows, 1):
            copy.write_row(row)
            if i % 5000 == 0:
                bar.advance(5000)
        bar.done = total - 1
    bar.close()


def reset_sequence(conn: psycopg.Connection, table: str) -> None:
    conn.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                 f"COALESCE((SELECT max(id) FROM \"{table}\"), 0) + 1, false)")


# --- the catalogue ----------------------------------------------------------------------------------

@dataclass
class Offering:
    id: int
    module: int
    provider: int
    location: int
    status: str
    capacity: int
    sessions: list[tuple[datetime, datetime]]
    deadline: date
    language: str
    price: int
    min_participants: int | None
    updated_at: datetime
    cancelled_at: datetime | None = None
    confirmed: int = 0
    waitlisted: int = 0
    next_place: int = 1
    enrolments: int = 0
    session_ids: list[int] = field(default_factory=list)


def utc_naive(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class World:
    def __init__(self, seed: int, offerings: int, today: date):
        self.rng = random.Random(seed)
        self.today = today
        self.modules = [Module(id=i, programme_id=1, code=m["code"], title=m["title"], description=m["description"],
                               content=list(m["content"]), target_group=m["target_group"], duration_days=None,
                               amu_number=None, position=i) for i, m in enumerate(MODULES, 1)]
        for module in self.modules:
            index_module(module)
        region_codes = sorted(REGIONS)
        self.municipalities = {code: (f"Kommune {code} (bench)", region_codes[i % 5])
                               for i, code in enumerate(MUNICIPALITIES)}
        self.providers: list[Provider] = []
        self.locations: list[Location] = []
        self.provider_locations: dict[int, list[Location]] = {}
        location_id = 0
        for p in range(1, PROVIDERS + 1):
            provider = Provider(id=p, name=f"Benchmark-skole {p:03d}", website=f"https://skole{p:03d}.example",
                                email=f"kontakt@skole{p:03d}.example")
            index_provider(provider)
            self.providers.append(provider)
            for _ in range(self.rng.choice((1, 1, 2, 3))):
                location_id += 1
                code = self.rng.choice(MUNICIPALITIES)
                name, region = self.municipalities[code]
                location = Location(id=location_id, provider_id=p, name=f"{provider.name}, afdeling {location_id}",
                                    address=f"Skolevej {location_id}", postcode=f"{1000 + int(code) * 40:04d}"[:4],
                                    city=f"By {code}", municipality_code=code, municipality=name, region_code=region,
                                    latitude=55.0 + self.rng.random() * 2.5, longitude=8.5 + self.rng.random() * 4)
                location.provider = provider
                index_location(location)
                self.locations.append(location)
                self.provider_locations.setdefault(p, []).append(location)
        self.offerings = [self._offering(i) for i in range(1, offerings + 1)]
        session_id = 0
        for offering in self.offerings:
            for _ in offering.sessions:
                session_id += 1
                offering.session_ids.append(session_id)

    def _offering(self, i: int) -> Offering:
        rng = self.rng
        provider = rng.randint(1, PROVIDERS)
        location = rng.choice(self.provider_locations[provider]).id
        offsets = rng.choice(SESSION_PATTERNS)
        starts, ends = rng.choice(SCHOOL_DAYS)
        span = (YEARS_BACK + YEARS_AHEAD) * 365
        while True:
            first_day = self.today + timedelta(days=rng.randint(-YEARS_BACK * 365, span - YEARS_BACK * 365))
            days = [first_day + timedelta(days=offset) for offset in offsets]
            if all(is_teaching_day(day) for day in days):
                break
        sessions = [(datetime.combine(day, starts, tzinfo=COPENHAGEN), datetime.combine(day, ends, tzinfo=COPENHAGEN))
                    for day in days]
        roll = rng.random()
        status = "cancelled" if roll < 0.03 else "draft" if roll < 0.04 else "published"
        updated = datetime.combine(first_day - timedelta(days=90), starts, tzinfo=COPENHAGEN)
        return Offering(
            id=i, module=rng.randint(1, len(MODULES)), provider=provider, location=location, status=status,
            capacity=rng.randint(12, 24), sessions=sessions, deadline=first_day - timedelta(days=14),
            language="en" if rng.random() < 0.05 else "da", price=len(sessions) * rng.choice(DAILY_FEES_DKK),
            min_participants=rng.choice((None, 6, 8)), updated_at=updated,
            cancelled_at=updated + timedelta(days=30) if status == "cancelled" else None,
        )

    def snapshot(self, offering: Offering, schema: OfferingSchema) -> str:
        module = self.modules[offering.module - 1]
        location = self.locations[offering.location - 1]
        data = {
            "id": offering.id, "url": f"{PUBLIC_URL}/offerings/{offering.id}", "module_code": module.code,
            "module_title": module.title, "module_description": module.description,
            "module_content": module.content, "programme_code": PROGRAMME["code"], "provider_id": offering.provider,
            "provider_name": self.providers[offering.provider - 1].name,
            "location": {"id": location.id, "name": location.name, "address": location.address,
                         "postcode": location.postcode, "city": location.city,
                         "municipality_code": location.municipality_code, "municipality": location.municipality,
                         "region_code": location.region_code, "region": REGIONS[location.region_code],
                         "latitude": location.latitude, "longitude": location.longitude},
            "sessions": [{"id": sid, "starts_at": s, "ends_at": e}
                         for sid, (s, e) in zip(offering.session_ids, offering.sessions, strict=True)],
            "starts_at": offering.sessions[0][0], "ends_at": offering.sessions[-1][1],
            "capacity": offering.capacity, "seats_available": max(offering.capacity - offering.confirmed, 0),
            "waitlist_length": offering.waitlisted, "min_participants": offering.min_participants,
            "price_dkk": offering.price, "enrolment_deadline": offering.deadline, "language": offering.language,
            "contact_email": f"glu@skole{offering.provider:03d}.example", "reference": f"BENCH-{offering.id}",
            "note": None, "status": offering.status, "revision": 1, "change_seq": offering.id, "demo": False,
            "cancelled_at": offering.cancelled_at, "cancellation_reason":
                "Aflyst (benchmarkdata)." if offering.cancelled_at else None,
            "updated_at": offering.updated_at,
        }
        return json.dumps(schema.dump(data), ensure_ascii=False)


def load_catalogue(world: World, name: str) -> None:
    recreate_database(name)
    migrate("catalogue", name)
    with psycopg.connect(database_url(name)) as conn:
        conn.execute("INSERT INTO programme (id, code, title, description) VALUES (1, %s, %s, %s)",
                     (PROGRAMME["code"], PROGRAMME["title"], PROGRAMME["description"]))
        for m in world.modules:
            conn.execute("INSERT INTO module (id, programme_id, code, title, description, content, target_group, "
                         "duration_days, amu_number, position, search_text) "
                         "VALUES (%s, 1, %s, %s, %s, %s, %s, NULL, NULL, %s, %s)",
                         (m.id, m.code, m.title, m.description, json.dumps(m.content, ensure_ascii=False),
                          m.target_group, m.position, m.search_text))
        copy_rows(conn, "provider", ["id", "name", "website", "email", "search_text"],
                  ((p.id, p.name, p.website, p.email, p.search_text) for p in world.providers), len(world.providers))
        copy_rows(conn, "location", ["id", "provider_id", "name", "address", "postcode", "city", "municipality_code",
                                     "municipality", "region_code", "latitude", "longitude", "search_text"],
                  ((loc.id, loc.provider_id, loc.name, loc.address, loc.postcode, loc.city, loc.municipality_code,
                    loc.municipality, loc.region_code, loc.latitude, loc.longitude, loc.search_text)
                   for loc in world.locations), len(world.locations))
        copy_rows(conn, "offering", [
            "id", "module_id", "provider_id", "location_id", "reference", "status", "capacity", "min_participants",
            "price_dkk", "enrolment_deadline", "language", "contact_email", "note", "demo", "revision", "starts_at",
            "ends_at", "created_at", "updated_at", "cancelled_at", "cancellation_reason", "seats_taken",
            "waitlist_length", "seats_version", "change_seq", "decision_date"],
            ((o.id, o.module, o.provider, o.location, f"BENCH-{o.id}", o.status, o.capacity, o.min_participants,
              o.price, o.deadline, o.language, f"glu@skole{o.provider:03d}.example", None, False, 1,
              utc_naive(o.sessions[0][0]), utc_naive(o.sessions[-1][1]), utc_naive(o.updated_at),
              utc_naive(o.updated_at), utc_naive(o.cancelled_at) if o.cancelled_at else None,
              "Aflyst (benchmarkdata)." if o.cancelled_at else None, o.confirmed, o.waitlisted, o.enrolments, o.id,
              o.deadline)  # decision date: DECISION_DAYS_BEFORE_START (14) days before the first day, as the deadline
             for o in world.offerings), len(world.offerings))
        copy_rows(conn, "session", ["id", "offering_id", "starts_at", "ends_at"],
                  ((sid, o.id, utc_naive(s), utc_naive(e)) for o in world.offerings
                   for sid, (s, e) in zip(o.session_ids, o.sessions, strict=True)),
                  sum(len(o.sessions) for o in world.offerings))
        conn.execute("UPDATE change_sequence SET value = %s WHERE id = 1", (len(world.offerings),))
        for table in ("programme", "module", "provider", "location", "offering", "session"):
            reset_sequence(conn, table)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


# --- enrolments -------------------------------------------------------------------------------------

@dataclass
class Enrolments:
    participants: list[tuple] = field(default_factory=list)   # (id, organisation_id, name, email, feed, page)
    enrolments: list[tuple] = field(default_factory=list)     # (id, offering, participant, organisation, status, place)
    feed_participant_token: str = ""
    feed_organisation_token: str = ""
    organisation_tokens: dict[str, str] = field(default_factory=dict)


def plan_enrolments(world: World, total: int) -> Enrolments:
    rng = world.rng
    out = Enrolments()
    organisation_ids = {key: i for i, key in enumerate(MUNICIPALITIES, 1)}
    out.organisation_tokens = {key: b64(rng.randbytes(32)) for key in MUNICIPALITIES}
    out.feed_organisation_token = out.organisation_tokens[FEED_ORGANISATION]
    enrollable = [o for o in world.offerings if o.status != "draft"]
    if not enrollable:
        return out

    def enrol(offering: Offering, participant_id: int, organisation_id: int, status: str | None = None) -> None:
        if status is None:
            roll = rng.random()
            if offering.status == "cancelled" or roll < 0.04:
                status = "cancelled"
            elif roll < 0.05:
                status = "pending_approval"
            else:
                status = "confirmed" if offering.confirmed < offering.capacity else "waitlisted"
        place = None
        if status != "pending_approval":
            place = offering.next_place
            offering.next_place += 1
        if status == "confirmed":
            offering.confirmed += 1
        elif status == "waitlisted":
            offering.waitlisted += 1
        offering.enrolments += 1
        out.enrolments.append((len(out.enrolments) + 1, offering.id, participant_id, organisation_id, status, place))

    def new_participant(key: str) -> int:
        pid = len(out.participants) + 1
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{pid}@kommune{key}.example".lower()
        out.participants.append((pid, organisation_ids[key], f"{first} {last}", email,
                                 b64(rng.randbytes(32)), b64(rng.randbytes(32))))
        return pid

    bar = Progress("planning enrolments", total)
    # The feed participant: exactly ten courses, all confirmed, in organisation 101.
    pid = new_participant("101")
    out.feed_participant_token = out.participants[-1][4]
    for offering in rng.sample([o for o in enrollable if o.status == "published"], FEED_PARTICIPANT_COURSES):
        enrol(offering, pid, organisation_ids["101"], "confirmed")
    # The feed organisation: about 1,000 sessions' worth of its people's places.
    sessions = 0
    for offering in rng.sample(enrollable, len(enrollable)):
        if sessions >= FEED_ORGANISATION_SESSIONS or len(out.enrolments) >= total:
            break
        sessions += len(offering.sessions)
        for _ in range(rng.choice((1, 1, 2))):
            enrol(offering, new_participant(FEED_ORGANISATION), organisation_ids[FEED_ORGANISATION])
    bar.advance(len(out.enrolments))
    # Everyone else, over the other 97 organisations of varied size.
    others = [key for key in MUNICIPALITIES if key != FEED_ORGANISATION]
    weights = [rng.choice((1, 2, 3, 5, 8, 13)) for _ in others]
    counts, count_weights = zip(*COURSES_PER_PERSON, strict=True)
    while len(out.enrolments) < total:
        key = rng.choices(others, weights)[0]
        pid = new_participant(key)
        k = min(rng.choices(counts, count_weights)[0], total - len(out.enrolments))
        chosen: set[int] = set()
        while len(chosen) < k:
            chosen.add(rng.randrange(len(enrollable)))
        for index in chosen:
            enrol(enrollable[index], pid, organisation_ids[key])
        bar.advance(k)
    bar.close()
    return out


def load_enrolments(world: World, plan: Enrolments, name: str) -> None:
    recreate_database(name)
    migrate("enrolment", name)
    now = datetime.now(UTC).replace(tzinfo=None)
    organisation_ids = {key: i for i, key in enumerate(MUNICIPALITIES, 1)}
    with psycopg.connect(database_url(name)) as conn:
        copy_rows(conn, "organisation", ["id", "key", "name", "kind", "requires_approval", "ean", "order_reference",
                                         "cost_centre", "feed_token", "created_at"],
                  ((organisation_ids[key], key, world.municipalities[key][0], "municipality", key == "101", None,
                    None, None, plan.organisation_tokens[key], now) for key in MUNICIPALITIES), len(MUNICIPALITIES))
        copy_rows(conn, "hr_user", ["id", "organisation_id", "name", "email"],
                  ((i, i, f"HR {key}", f"hr@kommune{key}.example") for key, i in organisation_ids.items()),
                  len(MUNICIPALITIES))
        schema = OfferingSchema()
        seated = [o for o in world.offerings if o.enrolments]
        copy_rows(conn, "offering_seats", [
            "offering_id", "provider_id", "capacity", "status", "enrolment_deadline", "catalogue_revision",
            "next_place", "confirmed", "waitlisted", "seats_version", "refreshed_at", "snapshot", "removed_sessions"],
            ((o.id, o.provider, o.capacity, o.status, o.deadline, 1, o.next_place, o.confirmed, o.waitlisted,
              o.enrolments, utc_naive(o.updated_at), world.snapshot(o, schema), "[]") for o in seated), len(seated))
        copy_rows(conn, "participant", ["id", "organisation_id", "name", "email", "email_key", "feed_token",
                                        "page_token", "created_at"],
                  ((pid, org, pname, email, email, feed, page, now) for pid, org, pname, email, feed, page
                   in plan.participants), len(plan.participants))
        offerings = world.offerings
        copy_rows(conn, "enrolment", ["id", "offering_id", "participant_id", "organisation_id", "status", "place",
                                      "source", "calendar_sequence", "created_at", "updated_at"],
                  ((eid, oid, pid, org, status, place, "hr", 0, utc_naive(offerings[oid - 1].updated_at),
                    utc_naive(offerings[oid - 1].updated_at)) for eid, oid, pid, org, status, place
                   in plan.enrolments), len(plan.enrolments))
        conn.execute("UPDATE catalogue_cursor SET last_seq = %s WHERE id = 1", (len(world.offerings),))
        for table in ("organisation", "hr_user", "participant", "enrolment"):
            reset_sequence(conn, table)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offerings", type=int, default=100_000)
    parser.add_argument("--enrolments", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", type=date.fromisoformat, default=None,
                        help="the day the five years are centred on (default: today)")
    parser.add_argument("--catalogue-db", required=True)
    parser.add_argument("--enrolment-db")
    parser.add_argument("--fixtures", type=Path)
    args = parser.parse_args(argv)
    started = time.monotonic()
    today = args.today or datetime.now(COPENHAGEN).date()
    print(f"generating {args.offerings:,} offerings, {args.enrolments:,} enrolments (seed {args.seed})",
          file=sys.stderr)
    world = World(args.seed, args.offerings, today)
    plan = plan_enrolments(world, args.enrolments) if args.enrolments and args.enrolment_db else None
    rng = random.Random(args.seed + 1)
    published = [o.id for o in world.offerings if o.status == "published"]
    open_ids = [o.id for o in world.offerings if o.status == "published" and o.deadline >= today + timedelta(days=2)]
    fixtures = {
        "seed": args.seed, "today": today.isoformat(), "offerings": args.offerings,
        "sessions": sum(len(o.sessions) for o in world.offerings),
        "catalogue_db": args.catalogue_db, "enrolment_db": args.enrolment_db,
        "detail_offering_ids": rng.sample(published, min(2000, len(published))),
        "open_offering_ids": rng.sample(open_ids, min(5000, len(open_ids))),
    }
    if plan is not None:
        # The seat-count lag probe's own offering: open, known to the enrolment service (it has
        # enrolments), touched by no other load, and big enough that every probe is confirmed.
        used = set(fixtures["open_offering_ids"]) | set(fixtures["detail_offering_ids"])
        probe = next(world.offerings[i - 1] for i in open_ids
                     if i not in used and world.offerings[i - 1].enrolments)
        probe.capacity = PROBE_CAPACITY
        fixtures.update(probe_offering_id=probe.id, probe_organisation=PROBE_ORGANISATION)
    load_catalogue(world, args.catalogue_db)
    if plan is not None:
        load_enrolments(world, plan, args.enrolment_db)
    fixtures["seconds"] = round(time.monotonic() - started, 1)
    if plan is not None:
        feed_org_id = MUNICIPALITIES.index(FEED_ORGANISATION) + 1
        feed_org_offerings = {e[1] for e in plan.enrolments if e[3] == feed_org_id}
        fixtures.update(
            enrolments=len(plan.enrolments), participants=len(plan.participants),
            participant_feed_token=plan.feed_participant_token, participant_feed_courses=FEED_PARTICIPANT_COURSES,
            organisation_feed_key=FEED_ORGANISATION, organisation_feed_token=plan.feed_organisation_token,
            organisation_feed_offerings=len(feed_org_offerings),
            organisation_feed_sessions=sum(len(world.offerings[i - 1].sessions) for i in feed_org_offerings),
            hr_organisation="150",
        )
    if args.fixtures:
        args.fixtures.write_text(json.dumps(fixtures, indent=1))
    print(f"done in {fixtures['seconds']}s", file=sys.stderr)
    return fixtures


if __name__ == "__main__":
    main()

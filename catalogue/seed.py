"""The GLU programme, the schools that teach it, and a year of demo offerings: `flask --app catalogue seed`.

Safe to run again: programme, modules, schools and locations are updated in place, and a demo
offering whose reference the school already has is left alone. The offerings are drawn from a
random generator seeded with the day, so the same day always plans the same offerings.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from catalogue.models import Location, Module, Offering, Programme, Provider
from catalogue.offerings import cancel_offering, create_offering
from catalogue.programmes import set_themes
from catalogue.search import index_location, index_module, index_provider
from shared.auth import Actor, Role
from shared.schemas import COPENHAGEN

PROGRAMME = {
    "code": "GLU",
    "title": "GLU – Den Grundlæggende Lederuddannelse",
    "description": (
        "GLU er en lederuddannelse i arbejdsmarkedsuddannelserne (AMU) for nye og erfarne "
        "førstelinjeledere. Uddannelsen består af fem moduler, og hvert modul kan også tages for sig. "
        "Et tillægsmodul retter sig mod førstelinjeledere i den offentlige sektor."
    ),
}

# Only GLU-4 may speak of "konflikt…" and only GLU-T of "økonomi…": searches for those words
# must find exactly one module each.
MODULES = (
    {
        "code": "GLU-1",
        "title": "Introduktion til ledelse",
        "description": (
            "Modulet giver et første overblik over lederrollen: hvad ledelse er, hvilke forventninger "
            "en leder mødes af, og hvordan man finder sin egen stil. Deltagerne tager udgangspunkt i "
            "deres egen hverdag og går hjem med en plan for deres videre udvikling som leder."
        ),
        "content": (
            "Lederrollen og forventningerne fra medarbejdere og egen ledelse",
            "Ledelsesstile og egen måde at lede på",
            "Ledelse af sig selv: prioritering og planlægning af egen tid",
            "Arbejdspladsens mål og lederens bidrag til dem",
        ),
        "target_group": (
            "Nye og kommende ledere med personaleansvar, f.eks. teamledere, værkførere og koordinatorer, "
            "som vil have et fundament for deres lederrolle."
        ),
    },
    {
        "code": "GLU-2",
        "title": "Ledelse og udvikling",
        "description": (
            "Modulet handler om at udvikle medarbejdere, team og sig selv som leder. Deltagerne arbejder "
            "med motivation, kompetencer og samarbejde og lærer at planlægge udvikling, der hænger "
            "sammen med arbejdspladsens mål."
        ),
        "content": (
            "Motivation og trivsel i arbejdsgruppen",
            "Kompetenceudvikling og medarbejderudviklingssamtaler (MUS)",
            "Teamudvikling og samarbejde",
            "Lederens egen læring og udvikling",
        ),
        "target_group": (
            "Ledere og kommende ledere med ansvar for en medarbejdergruppe, som vil styrke udviklingen "
            "af deres team og deres egen ledelse."
        ),
    },
    {
        "code": "GLU-3",
        "title": "Situationsbestemt ledelse",
        "description": (
            "Modulet giver en model for at tilpasse ledelsen til den enkelte medarbejder og opgave. "
            "Deltagerne lærer at vurdere medarbejderens kompetence og engagement og at vælge mellem "
            "instruerende, coachende, støttende og delegerende ledelse."
        ),
        "content": (
            "Modellen for situationsbestemt ledelse",
            "Vurdering af medarbejderens udviklingsniveau i en given opgave",
            "Instruerende, coachende, støttende og delegerende ledelsesstil",
            "Delegering og opfølgning i praksis",
        ),
        "target_group": (
            "Ledere og kommende ledere, der vil kunne lede forskellige medarbejdere i forskellige "
            "situationer med større sikkerhed."
        ),
    },
    {
        "code": "GLU-4",
        "title": "Kommunikation og konflikthåndtering",
        "description": (
            "Modulet styrker lederens kommunikation i hverdagen og evnen til at håndtere uenighed og "
            "konflikter. Deltagerne træner feedback og svære samtaler og lærer, hvordan konflikter "
            "opstår og optrappes, og hvordan de kan nedtrappes."
        ),
        "content": (
            "Kommunikation, aktiv lytning og spørgeteknik",
            "Feedback og den svære samtale",
            "Konflikters opståen og konflikttrappen",
            "Metoder til konfliktløsning og mægling",
        ),
        "target_group": (
            "Ledere og kommende ledere, der vil blive bedre til at kommunikere klart og til at håndtere "
            "konflikter på arbejdspladsen."
        ),
    },
    {
        "code": "GLU-5",
        "title": "Forandringsledelse",
        "description": (
            "Modulet handler om at lede mennesker gennem forandringer: at forstå reaktioner på "
            "forandring, skabe mening og inddrage medarbejderne. Deltagerne arbejder med en aktuel "
            "eller kommende forandring på deres egen arbejdsplads."
        ),
        "content": (
            "Forandringers faser og menneskers reaktioner på dem",
            "Modstand mod forandring som en ressource",
            "Kommunikation og inddragelse undervejs i forandringen",
            "Planlægning og opfølgning af en forandringsproces",
        ),
        "target_group": (
            "Ledere, der står over for eller er midt i en forandring på arbejdspladsen og vil lede den, "
            "så medarbejderne kommer med."
        ),
    },
    {
        "code": "GLU-T",
        "title": "Tillægsmodul: Offentlig førstelinjeledelse",
        "description": (
            "Tillægsmodulet er målrettet førstelinjeledere, der leder i en politisk styret organisation "
            "i kommuner, regioner og staten. Det giver økonomisk forståelse, politisk tæft og "
            "organisationsforståelse og støtter overgangen fra kollega til leder. Kurset tager afsæt i "
            "deltagernes egen hverdag og veksler mellem teori, gruppeøvelser og personlig feedback med "
            "konkrete problemstillinger, og det forudsætter aktiv deltagelse."
        ),
        "content": (
            "Hvordan kommuners og regioners aktiviteter finansieres, og hvordan budget og regnskab "
            "dokumenterer målopfyldelse",
            "Hvorfor økonomistyring – lokalt og samfundsmæssigt",
            "Hvordan kommuners og regioners økonomi styres, og statens indflydelse på den",
            "Styringsmidler: budgettering, opfølgning, likviditet og regnskab",
            "Værdi- og målstyring",
            "Politisk tæft: at oversætte overordnede strategiske mål til drift",
            "Organisationsforståelse og overgangen fra kollega til leder",
        ),
        "target_group": (
            "Erfarne, nye og kommende ledere i den offentlige sektor, f.eks. gruppekoordinatorer, "
            "teamledere, afdelingsledere, vejledere og andre med ledelses-, økonomisk og personaleansvar. "
            "Modulet kan tages i forlængelse af GLU eller som et selvstændigt modul."
        ),
    },
)

# Town centres rather than the schools' buildings, whose street addresses we do not vouch for:
# town -> (postcode, postal city, municipality code, municipality, region code, latitude, longitude).
TOWNS = {
    "Aalborg": ("9000", "Aalborg", "851", "Aalborg Kommune", "1081", 57.0488, 9.9217),
    "Hjørring": ("9800", "Hjørring", "860", "Hjørring Kommune", "1081", 57.4640, 9.9823),
    "Frederikshavn": ("9900", "Frederikshavn", "813", "Frederikshavn Kommune", "1081", 57.4407, 10.5366),
    "Viborg": ("8800", "Viborg", "791", "Viborg Kommune", "1082", 56.4532, 9.4020),
    "Grenaa": ("8500", "Grenaa", "707", "Norddjurs Kommune", "1082", 56.4161, 10.8787),
    "Randers": ("8900", "Randers C", "730", "Randers Kommune", "1082", 56.4607, 10.0364),
    "Aarhus": ("8000", "Aarhus C", "751", "Aarhus Kommune", "1082", 56.1567, 10.2108),
    "Horsens": ("8700", "Horsens", "615", "Horsens Kommune", "1082", 55.8607, 9.8503),
    "Kolding": ("6000", "Kolding", "621", "Kolding Kommune", "1083", 55.4904, 9.4722),
    "Odense": ("5000", "Odense C", "461", "Odense Kommune", "1083", 55.3959, 10.3883),
    "Vejle": ("7100", "Vejle", "630", "Vejle Kommune", "1083", 55.7093, 9.5357),
    "Sønderborg": ("6400", "Sønderborg", "540", "Sønderborg Kommune", "1083", 54.9138, 9.7922),
    "København": ("1550", "København V", "101", "Københavns Kommune", "1084", 55.6761, 12.5683),
    "Hillerød": ("3400", "Hillerød", "219", "Hillerød Kommune", "1084", 55.9267, 12.3109),
    "Næstved": ("4700", "Næstved", "370", "Næstved Kommune", "1085", 55.2299, 11.7609),
    "Slagelse": ("4200", "Slagelse", "330", "Slagelse Kommune", "1085", 55.4028, 11.3546),
    "Ringsted": ("4100", "Ringsted", "329", "Ringsted Kommune", "1085", 55.4426, 11.7902),
}

# name, short slug for references and demo e-mail addresses, website, towns with a location.
PROVIDERS = (
    ("AMU Nordjylland", "amunord", "https://www.amunordjylland.dk", ("Aalborg",)),
    ("EUC Nord", "eucnord", "https://www.eucnord.dk", ("Hjørring", "Frederikshavn")),
    ("Mercantec", "mercantec", "https://www.mercantec.dk", ("Viborg",)),
    ("Viden Djurs", "videndjurs", "https://www.videndjurs.dk", ("Grenaa",)),
    ("Tradium", "tradium", "https://www.tradium.dk", ("Randers",)),
    ("AARHUS TECH", "aarhustech", "https://www.aarhustech.dk", ("Aarhus",)),
    ("Learnmark Horsens", "learnmark", "https://www.learnmark.dk", ("Horsens",)),
    ("AMU Syd", "amusyd", "https://www.amusyd.dk", ("Kolding",)),
    ("Syddansk Erhvervsskole", "sde", "https://www.sde.dk", ("Odense", "Vejle")),
    ("EUC Syd", "eucsyd", "https://www.eucsyd.dk", ("Sønderborg",)),
    ("NEXT Uddannelse København", "next", "https://www.nextkbh.dk", ("København",)),
    ("Erhvervsskolen Nordsjælland", "esnord", "https://www.esnord.dk", ("Hillerød",)),
    ("EUC Sjælland", "eucsj", "https://www.eucsj.dk", ("Næstved",)),
    ("ZBC", "zbc", "https://www.zbc.dk", ("Slagelse", "Ringsted")),
)

# Each school's first admin: invented people at the reserved .example domain (listed in the README).
SCHOOL_ADMINS = {
    "AMU Nordjylland": "Karen Holm", "EUC Nord": "Jens Bach", "Mercantec": "Mette Lund", "Viden Djurs": "Søren Dahl",
    "Tradium": "Anne Friis", "AARHUS TECH": "Peter Kjær", "Learnmark Horsens": "Lone Berg", "AMU Syd": "Henrik Vind",
    "Syddansk Erhvervsskole": "Susanne Skov", "EUC Syd": "Morten Krog", "NEXT Uddannelse København": "Birgitte Hald",
    "Erhvervsskolen Nordsjælland": "Lars Mølgaard", "EUC Sjælland": "Hanne Bonde", "ZBC": "Thomas Ravn",
}
SYSTEM_ADMIN = ("Sys Admin (demo)", "admin@glu-courses.example")

DEMO_OFFERING_COUNT = 150
DEMO_CANCELLED_COUNT = 5
DEMO_NOTE = "Eksempeldata: dette udbud er opdigtet til demonstration og er ikke et rigtigt kursus."
DEMO_CANCELLATION_REASON = "Aflyst på grund af for få tilmeldte (eksempeldata)."
FIRST_DAY_WINDOW = (14, 365)  # days after today
ENROLMENT_DAYS_BEFORE_START = 14
# Teaching days counted from the first: two or three in a row, or two and a follow-up day later.
SESSION_PATTERNS = ((0, 1), (0, 1, 2), (0, 1, 14), (0, 1, 21))
SCHOOL_DAYS = ((time(8, 30), time(15, 30)), (time(9, 0), time(15, 0)))
DAILY_FEES_DKK = (335, 360, 395, 420, 460)
ENGLISH_SHARE = 0.05

ADMIN = Actor(role=Role.ADMIN)


@dataclass(frozen=True)
class PlannedOffering:
    provider_name: str
    town: str
    module: str
    reference: str
    sessions: tuple[dict, ...]
    capacity: int
    min_participants: int
    price_dkk: int
    language: str
    contact_email: str


# An EXAMPLE of which points of "Kodeks for god ledelse i kommuner og regioner" each module works with: our
# reading of the modules' content, not an official link (no source links GLU to the Kodeks). Stored as
# example rows (ModuleTheme.example), shown as "Eksempel — ikke en officiel kobling" until an
# administrator sets a module's points; running the seed again never overwrites an administrator's choice.
EXAMPLE_THEMES = {
    "GLU-1": ("kodeks-1", "kodeks-2", "kodeks-10"),
    "GLU-2": ("kodeks-6", "kodeks-9"),
    "GLU-3": ("kodeks-3", "kodeks-8", "kodeks-10"),
    "GLU-4": ("kodeks-5", "kodeks-7", "kodeks-8"),
    "GLU-5": ("kodeks-5", "kodeks-6", "kodeks-9"),
    "GLU-T": ("kodeks-2", "kodeks-4", "kodeks-11"),
}


def seed_catalogue(db: DbSession, today: date) -> str:
    """Load GLU, the schools and demo offerings planned from `today`; flushes, never commits."""
    rng = random.Random(f"glu-seed-{today.isoformat()}")
    programme = upsert_programme(db)
    modules = [upsert_module(db, programme, position, fields) for position, fields in enumerate(MODULES, 1)]
    providers = {name: upsert_provider(db, name, website, towns) for name, _, website, towns in PROVIDERS}
    db.flush()
    seed_people(db, {slug: providers[name] for name, slug, _, _ in PROVIDERS})

    plans = plan_offerings(rng, today)
    to_cancel = set(rng.sample(range(len(plans)), DEMO_CANCELLED_COUNT))
    known = {(provider_id, reference) for provider_id, reference
             in db.execute(select(Offering.provider_id, Offering.reference))}
    created = 0
    for index, plan in enumerate(plans):
        provider = providers[plan.provider_name]
        if (provider.id, plan.reference) in known:
            continue
        offering = create_offering(db, ADMIN, offering_data(plan, provider), demo=True)
        created += 1
        # Only a newly created offering is cancelled, so running the seed again changes nothing.
        if index in to_cancel:
            cancel_offering(db, ADMIN, offering.id, DEMO_CANCELLATION_REASON)
    return (f"{PROGRAMME['code']}: {len(modules)} moduler, {len(providers)} skoler, "
            f"{len(plans)} demo-udbud ({created} nye)")


def seed_people(db: DbSession, providers_by_slug: dict[str, Provider]) -> None:
    """The system administrator and each school's admin (admin@<slug>.example), unless there already."""
    from catalogue.accounts import CATALOGUE_ACCOUNTS
    from shared.accounts.members import add_membership, add_person

    add_person(db, CATALOGUE_ACCOUNTS, *SYSTEM_ADMIN, is_admin=True)
    for slug, provider in providers_by_slug.items():
        person = add_person(db, CATALOGUE_ACCOUNTS, SCHOOL_ADMINS[provider.name], f"admin@{slug}.example")
        if not any(membership.tenant_id == provider.id for membership in person.memberships):
            add_membership(db, CATALOGUE_ACCOUNTS, person, provider.id, "school_admin")


def upsert_programme(db: DbSession) -> Programme:
    programme = db.scalar(select(Programme).where(Programme.code == PROGRAMME["code"]))
    if programme is None:
        programme = Programme(code=PROGRAMME["code"])
        db.add(programme)
    programme.title = PROGRAMME["title"]
    programme.description = PROGRAMME["description"]
    return programme


def upsert_module(db: DbSession, programme: Programme, position: int, fields: dict) -> Module:
    module = db.scalar(select(Module).where(Module.code == fields["code"]))
    if module is None:
        # No source gives the AMU number or length; an administrator may fill them in later.
        module = Module(code=fields["code"], amu_number=None, duration_days=None)
        db.add(module)
    module.programme = programme
    module.title = fields["title"]
    module.description = fields["description"]
    module.content = list(fields["content"])
    module.target_group = fields["target_group"]
    module.position = position
    if not module.theme_rows or module.themes_example:
        set_themes(module, EXAMPLE_THEMES.get(fields["code"], ()), example=True)
    index_module(module)
    return module


def upsert_provider(db: DbSession, name: str, website: str, towns: tuple[str, ...]) -> Provider:
    provider = db.scalar(select(Provider).where(Provider.name == name))
    if provider is None:
        provider = Provider(name=name, email=None)
        db.add(provider)
    provider.website = website
    index_provider(provider)
    for town in towns:
        upsert_location(provider, town)
    return provider


def upsert_location(provider: Provider, town: str) -> Location:
    name = location_name(provider.name, town)
    location = next((location for location in provider.locations if location.name == name), None)
    if location is None:
        location = Location(name=name)
        provider.locations.append(location)
    postcode, city, municipality_code, municipality, region_code, latitude, longitude = TOWNS[town]
    location.address = None
    location.postcode = postcode
    location.city = city
    location.municipality_code = municipality_code
    location.municipality = municipality
    location.region_code = region_code
    location.latitude = latitude
    location.longitude = longitude
    index_location(location)
    return location


def location_name(provider_name: str, town: str) -> str:
    """For example "Mercantec, Viborg", but just "Learnmark Horsens" where the name has the town."""
    return provider_name if provider_name.endswith(town) else f"{provider_name}, {town}"


def plan_offerings(rng: random.Random, today: date) -> list[PlannedOffering]:
    """Every school offers every module at least once; the rest are spread at random."""
    pairs = [(provider, fields["code"]) for provider in PROVIDERS for fields in MODULES]
    pairs += [rng.choice(pairs) for _ in range(DEMO_OFFERING_COUNT - len(pairs))]
    plans: list[PlannedOffering] = []
    taken: set[tuple[str, str]] = set()
    for (name, slug, _, towns), module in pairs:
        sessions = plan_sessions(rng, today)
        first_day = sessions[0]["starts_at"].date()
        reference = free_reference(f"DEMO-{slug}-{module}-{first_day:%Y%m%d}", name, taken)
        plans.append(PlannedOffering(
            provider_name=name,
            town=rng.choice(towns),
            module=module,
            reference=reference,
            sessions=sessions,
            capacity=rng.randint(12, 24),
            min_participants=rng.randint(6, 8),
            price_dkk=len(sessions) * rng.choice(DAILY_FEES_DKK),
            language="en" if rng.random() < ENGLISH_SHARE else "da",
            contact_email=f"glu@{slug}.example",
        ))
    return plans


def plan_sessions(rng: random.Random, today: date) -> tuple[dict, ...]:
    offsets = rng.choice(SESSION_PATTERNS)
    starts, ends = rng.choice(SCHOOL_DAYS)
    while True:
        first_day = today + timedelta(days=rng.randint(*FIRST_DAY_WINDOW))
        days = [first_day + timedelta(days=offset) for offset in offsets]
        if all(is_teaching_day(day) for day in days):
            break
    return tuple(
        {"starts_at": datetime.combine(day, starts, tzinfo=COPENHAGEN),
         "ends_at": datetime.combine(day, ends, tzinfo=COPENHAGEN)}
        for day in days
    )


def is_teaching_day(day: date) -> bool:
    """A weekday outside the summer holiday and the days around Christmas, when schools rarely teach."""
    christmas = (day.month == 12 and day.day >= 22) or (day.month == 1 and day.day <= 2)
    return day.weekday() < 5 and day.month != 7 and not christmas


def free_reference(reference: str, provider_name: str, taken: set[tuple[str, str]]) -> str:
    """`reference`, or with a suffix (-2, -3, …) if the school already has it in this plan."""
    candidate, number = reference, 1
    while (provider_name, candidate) in taken:
        number += 1
        candidate = f"{reference}-{number}"
    taken.add((provider_name, candidate))
    return candidate


def offering_data(plan: PlannedOffering, provider: Provider) -> dict:
    """The plan in the shape `OfferingCreateSchema().load(...)` returns."""
    location = next(location for location in provider.locations
                    if location.name == location_name(provider.name, plan.town))
    first_day = plan.sessions[0]["starts_at"].date()
    return {
        "module": plan.module,
        "provider_id": provider.id,
        "location_id": location.id,
        "sessions": [dict(session) for session in plan.sessions],
        "capacity": plan.capacity,
        "min_participants": plan.min_participants,
        "price_dkk": plan.price_dkk,
        "enrolment_deadline": first_day - timedelta(days=ENROLMENT_DAYS_BEFORE_START),
        "language": plan.language,
        "contact_email": plan.contact_email,
        "reference": plan.reference,
        "note": DEMO_NOTE,
        "status": "published",
    }

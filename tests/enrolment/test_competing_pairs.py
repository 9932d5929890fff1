"""Two actions on the same place at the same moment, from different worker processes: each is decided once.

Each test spawns a few OS processes (concurrent_workers.spawn_workers), each with its own enrolment
and catalogue apps on the fixtures' databases, and runs several rounds in them: the test sets up a
fresh offering (and the places in it) through its usual fixtures and clients, then the pair of
actions waits at the round's barrier and is sent together, as two gunicorn workers would get them.
What has to hold afterwards is what holds when the two run one after the other, in either order:
one of them decides, the other is refused (409) or acts on what the first left — never both on
what they read before either had decided.

On SQLite every transaction takes the database's write lock (shared.db), so the pair runs one after
the other; on PostgreSQL (TEST_DATABASE_URL) only the offering's row lock (seats.py) orders them.

Mails are read through `mails_to` only, so a change of the outbox is one change here.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import pytest
from sqlalchemy import func, select

from enrolment.models import Enrolment, OutboxMessage, Participant, db
from tests.enrolment.concurrent_workers import spawn_workers
from tests.enrolment.conftest import request_and_confirm

ROUNDS = 6
PROCESSES = 2  # one process for each action of the pair; they take turns at each action round by round
PROBLEM = "application/problem+json"


# --- Mails ----------------------------------------------------------------------------------------

class Mail(NamedTuple):
    subject: str
    calendar_method: str | None
    body: str


def mails_to(app, email: str) -> list[Mail]:
    """Every mail written to `email`, oldest first (the one place that reads the outbox)."""
    with app.app_context():
        rows = db.session.execute(
            select(OutboxMessage.subject, OutboxMessage.calendar_method, OutboxMessage.body)
            .where(OutboxMessage.kind == "mail", func.lower(OutboxMessage.recipient) == email.lower())
            .order_by(OutboxMessage.id)).all()
        db.session.remove()
    return [Mail(*row) for row in rows]


def count(mails: list[Mail], subject: str, *, says: str = "", method: str | None = None) -> int:
    """How many of `mails` have a subject beginning `subject`, a body saying `says` and (if given) `method`."""
    return sum(mail.subject.startswith(subject) and says in mail.body and method in (None, mail.calendar_method)
               for mail in mails)


def confirmations(mails: list[Mail]) -> int:
    return count(mails, "Du er tilmeldt:")


def waitlistings(mails: list[Mail]) -> int:
    return count(mails, "Du er på venteliste:")


def promotions(mails: list[Mail]) -> int:
    return count(mails, "Du har fået en plads:")


def rejections(mails: list[Mail]) -> int:
    return count(mails, "Ingen plads:")


def cancellations(mails: list[Mail]) -> int:
    """Mails that a place was cancelled (not those that it was handed over)."""
    return count(mails, "Afmeldt:", says="Din tilmelding er afmeldt.", method="CANCEL")


def taken_over(mails: list[Mail]) -> int:
    """Mails welcoming a new holder of a place."""
    return count(mails, "Du har overtaget en plads:")


def handed_over(mails: list[Mail]) -> int:
    """Mails telling the holder that HR gave the place to someone else (and cancelling its events)."""
    return count(mails, "Afmeldt:", says="HR har givet din plads til en kollega.", method="CANCEL")


def subjects(mails: list[Mail]) -> list[str]:
    return [mail.subject.split(":")[0] + (" (overdraget)" if "kollega" in mail.body else "") for mail in mails]


# --- The database and the catalogue after a round ---------------------------------------------------

def stored_counts(app, offering_id: int) -> Counter:
    """How many enrolments of the offering have each status, in the enrolment database."""
    with app.app_context():
        rows = db.session.execute(select(Enrolment.status, func.count()).where(Enrolment.offering_id == offering_id)
                                  .group_by(Enrolment.status)).all()
        db.session.remove()
    return Counter(dict(rows))


def places_in_line(app, offering_id: int) -> list[tuple[int, str]]:
    """(place in line, status) of the offering's enrolments, in the order they joined the line."""
    with app.app_context():
        rows = db.session.execute(select(Enrolment.place, Enrolment.status)
                                  .where(Enrolment.offering_id == offering_id).order_by(Enrolment.place)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def page_token(app, email: str) -> str:
    with app.app_context():
        token = db.session.scalar(select(Participant.page_token).where(Participant.email_key == email.lower()))
        db.session.remove()
    return token


def assert_catalogue_agrees(catalogue_client, app, offering_id: int, where: str) -> None:
    counts = stored_counts(app, offering_id)
    shown = catalogue_client.get(f"/offerings/{offering_id}").get_json()
    expected = (max(shown["capacity"] - counts["confirmed"], 0), counts["waitlisted"])
    assert (shown["seats_available"], shown["waitlist_length"]) == expected, (
        f"{where}: the catalogue shows {shown['seats_available']} free seats and {shown['waitlist_length']} "
        f"waiting of {shown['capacity']}; the enrolment database holds {dict(counts)}")


# --- Rounds ---------------------------------------------------------------------------------------

def call(label: str, method: str, path: str, headers: dict, json: dict | None = None,
         service: str = "enrolment") -> dict:
    request = {"label": label, "service": service, "method": method, "path": path, "headers": headers}
    if json is not None:
        request["json"] = json
    return request


def person(name: str, round_number: int) -> dict:
    """A participant of its own in each round, so each round's mails are its own."""
    return {"name": f"{name} {round_number}", "email": f"{name.lower()}.{round_number}@viborg.example"}


def shown(answers: list[dict]) -> str:
    return ", ".join(f"{answer['label']} {answer['status']}" for answer in answers)


def decided_twice(answers: list[dict], decided: str) -> str:
    """What went wrong when a pair's answers are not one 200 and one 409."""
    codes = [answer["status"] for answer in answers]
    if any(code not in (200, 409) for code in codes):
        return "an answer was neither 200 nor 409 (the apps' log follows)"
    return f"{decided} twice" if codes.count(200) > 1 else "neither action was taken"


@pytest.fixture
def mercantec(make_school):
    return make_school("Mercantec")


@pytest.fixture
def new_offering(make_offering, mercantec):
    """new_offering(round, capacity) -> a published one-day offering of its own for the round."""
    # One day, so each notice is one mail (a course of several days sends one per further day too).
    return lambda round_number, capacity=1: make_offering(
        mercantec, module="GLU-2", first_day=30 + round_number, days=1, capacity=capacity, min_participants=1)


@pytest.fixture
def viborg(make_organisation):
    """An organisation whose leaders' requests wait for HR's approval."""
    return make_organisation("791", name="Viborg Kommune", requires_approval=True)


@pytest.fixture
def ask(client, viborg):
    """ask(offering, participant) -> the id of a leader's request, waiting for approval."""

    def post(offering: dict, participant: dict) -> int:
        response = request_and_confirm(client.application, client, {
            "offering_id": offering["id"], "organisation": viborg, "participant": participant})
        assert response.get_json()["status"] == "pending_approval", response.get_json()
        return response.get_json()["id"]

    return post


@pytest.fixture
def place(enrol, viborg):
    """place(offering, participant, "confirmed") -> the id of an enrolment by HR, checked to have that status."""

    def post(offering: dict, participant: dict, status: str) -> int:
        response = enrol(offering, participant["name"], organisation=viborg, email=participant["email"]).get_json()
        assert response["status"] == status, response
        return response["id"]

    return post


@pytest.fixture
def stored(client, hr, viborg):
    """stored(enrolment_id) -> the enrolment as GET /enrolments/{id} shows it now."""
    return lambda enrolment_id: client.get(f"/enrolments/{enrolment_id}", headers=hr(viborg)).get_json()


def assert_one_promotion(app, stored, first_in_line: tuple, second_in_line: tuple, where: str) -> None:
    """One seat was freed: the first in line has it (and was told once), the second is now next in line."""
    (first, first_id), (second, second_id) = first_in_line, second_in_line
    now_first, now_second = stored(first_id), stored(second_id)
    assert (now_first["status"], now_second["status"], now_second["waitlist_position"]) == (
        "confirmed", "waitlisted", 1), (
        f"{where}: one freed seat, one promotion; {first['name']} {now_first['status']}, {second['name']} "
        f"{now_second['status']} at {now_second['waitlist_position']}")
    told = promotions(mails_to(app, first["email"])), promotions(mails_to(app, second["email"]))
    assert told == (1, 0), f"{where}: promotion mails {told}"


def assert_refused(answer: dict, where: str) -> None:
    assert (answer["status"], answer["content_type"]) == (409, PROBLEM), f"{where}: {answer}"


# --- The pairs ------------------------------------------------------------------------------------

def test_two_approvals_of_one_request_approve_it_once(enrolment_database, catalogue_database, app, new_offering,
                                                      ask, stored, hr, viborg):
    with spawn_workers(enrolment_database, catalogue_database, PROCESSES, [2] * ROUNDS) as workers:
        for n in range(ROUNDS):
            offering = new_offering(n, capacity=1)
            lene = person("Lene", n)
            request_id = ask(offering, lene)

            answers, log = workers.fire([call(f"approve-{side}", "POST", f"/enrolments/{request_id}/approve",
                                              hr(viborg)) for side in "ab"])

            final, mails = stored(request_id), mails_to(app, lene["email"])
            where = f"round {n} ({shown(answers)}; final {final['status']}; mails {subjects(mails)})"
            codes = sorted(answer["status"] for answer in answers)
            assert codes == [200, 409], f"{where}: {decided_twice(answers, 'the request was approved')}\n{log}"
            assert_refused(next(answer for answer in answers if answer["status"] == 409), where)
            assert final["status"] == "confirmed", f"{where}: the second approval placed the request again"
            assert (confirmations(mails), waitlistings(mails)) == (1, 0), (
                f"{where}: the request was placed twice: confirmed, then placed in line once more")


def test_approval_and_rejection_of_one_request_decide_it_once(enrolment_database, catalogue_database, app,
                                                              catalogue_client, new_offering, ask, stored, hr, viborg):
    with spawn_workers(enrolment_database, catalogue_database, PROCESSES, [2] * ROUNDS) as workers:
        for n in range(ROUNDS):
            offering = new_offering(n, capacity=1)
            lene = person("Lene", n)
            request_id = ask(offering, lene)

            answers, log = workers.fire([call(verb, "POST", f"/enrolments/{request_id}/{verb}", hr(viborg))
                                         for verb in ("approve", "reject")])

            approve, reject = answers
            final, mails = stored(request_id), mails_to(app, lene["email"])
            where = f"round {n} ({shown(answers)}; final {final['status']}; mails {subjects(mails)})"
            assert sorted((approve["status"], reject["status"])) == [200, 409], (
                f"{where}: {decided_twice(answers, 'the request was decided (approved and rejected)')}\n{log}")
            winner, loser = (approve, reject) if approve["status"] == 200 else (reject, approve)
            assert_refused(loser, where)
            decided = "confirmed" if winner is approve else "rejected"
            assert final["status"] == decided == winner["json"]["status"], (
                f"{where}: {winner['label']} answered 200 but the request ended {final['status']}")
            assert (confirmations(mails), rejections(mails)) == ((1, 0) if winner is approve else (0, 1)), (
                f"{where}: the leader was told both decisions")
            assert_catalogue_agrees(catalogue_client, app, offering["id"], where)


def test_approval_and_cancellation_of_one_request_end_cancelled(enrolment_database, catalogue_database, app,
                                                                catalogue_client, new_offering, ask, stored, hr,
                                                                viborg):
    with spawn_workers(enrolment_database, catalogue_database, PROCESSES, [2] * ROUNDS) as workers:
        for n in range(ROUNDS):
            offering = new_offering(n, capacity=1)
            lene = person("Lene", n)
            request_id = ask(offering, lene)

            answers, log = workers.fire([call(verb, "POST", f"/enrolments/{request_id}/{verb}", hr(viborg))
                                         for verb in ("approve", "cancel")])

            approve, cancel = answers
            final, mails = stored(request_id), mails_to(app, lene["email"])
            where = f"round {n} ({shown(answers)}; final {final['status']}; mails {subjects(mails)})"
            # A waiting request can be cancelled, and so can an approved one: the cancellation always succeeds.
            assert cancel["status"] == 200, f"{where}: the cancellation was refused\n{log}"
            if approve["status"] != 200:
                assert_refused(approve, where)  # the request had been cancelled before it was approved
            assert final["status"] == "cancelled", (
                f"{where}: the cancellation answered 200 but the place ended {final['status']}: "
                f"the approval placed a request that was already cancelled")
            assert cancellations(mails) == 1, f"{where}: one cancellation, one mail about it"
            assert confirmations(mails) == (1 if approve["status"] == 200 else 0), where
            assert_catalogue_agrees(catalogue_client, app, offering["id"], where)


def test_two_cancellations_of_one_place_promote_once(enrolment_database, catalogue_database, app, catalogue_client,
                                                     new_offering, place, stored, hr, viborg):
    with spawn_workers(enrolment_database, catalogue_database, PROCESSES, [2] * ROUNDS) as workers:
        for n in range(ROUNDS):
            offering = new_offering(n, capacity=1)
            anne, bent, carla = (person(name, n) for name in ("Anne", "Bent", "Carla"))
            anne_id = place(offering, anne, "confirmed")
            bent_id = place(offering, bent, "waitlisted")
            carla_id = place(offering, carla, "waitlisted")

            answers, log = workers.fire([call(f"cancel-{side}", "POST", f"/enrolments/{anne_id}/cancel",
                                              hr(viborg)) for side in "ab"])

            annes = mails_to(app, anne["email"])
            where = f"round {n} ({shown(answers)}; mails to Anne {subjects(annes)})"
            codes = sorted(answer["status"] for answer in answers)
            assert codes == [200, 409], f"{where}: {decided_twice(answers, 'the place was cancelled')}\n{log}"
            assert_refused(next(answer for answer in answers if answer["status"] == 409), where)
            assert stored(anne_id)["status"] == "cancelled", where
            assert cancellations(annes) == 1, f"{where}: Anne was told twice that her place was cancelled"
            assert_one_promotion(app, stored, (bent, bent_id), (carla, carla_id), where)
            assert_catalogue_agrees(catalogue_client, app, offering["id"], where)


def test_cancellation_and_substitution_of_one_place_end_cancelled(enrolment_database, catalogue_database, app,
                                                                  catalogue_client, new_offering, place, stored, hr,
                                                                  viborg):
    with spawn_workers(enrolment_database, catalogue_database, PROCESSES, [2] * ROUNDS) as workers:
        for n in range(ROUNDS):
            offering = new_offering(n, capacity=1)
            anne, bent, dorte = (person(name, n) for name in ("Anne", "Bent", "Dorte"))
            anne_id = place(offering, anne, "confirmed")
            bent_id = place(offering, bent, "waitlisted")

            answers, log = workers.fire([
                call("cancel", "POST", f"/enrolments/{anne_id}/cancel", hr(viborg)),
                call("substitute", "POST", f"/enrolments/{anne_id}/substitute", hr(viborg), {"participant": dorte}),
            ])

            cancel, substitute = answers
            final = stored(anne_id)
            annes, dortes = mails_to(app, anne["email"]), mails_to(app, dorte["email"])
            where = (f"round {n} ({shown(answers)}; final {final['status']} held by {final['participant']['email']}; "
                     f"mails to Anne {subjects(annes)}, to Dorte {subjects(dortes)})")
            assert cancel["status"] == 200, f"{where}: the cancellation was refused\n{log}"
            assert final["status"] == "cancelled", f"{where}: a place cancelled with 200 ended {final['status']}"
            if substitute["status"] == 200:
                # The substitution came first: the cancellation cancelled Dorte's place.
                assert cancel["json"]["participant"]["email"] == dorte["email"], (
                    f"{where}: the cancellation answered about {cancel['json']['participant']['email']}, whom it "
                    f"read before the substitution gave the place to Dorte")
                assert final["participant"]["email"] == dorte["email"], where
                assert (handed_over(annes), cancellations(annes)) == (1, 0), (
                    f"{where}: Anne handed the place over; its cancellation is Dorte's")
                assert (taken_over(dortes), cancellations(dortes)) == (1, 1), (
                    f"{where}: Dorte took the place over and then it was cancelled")
            else:
                assert_refused(substitute, f"{where}: a cancelled place was handed over")
                assert final["participant"]["email"] == anne["email"], where
                assert (cancellations(annes), handed_over(annes), dortes) == (1, 0, []), where
            assert stored(bent_id)["status"] == "confirmed", f"{where}: the freed seat went to no one"
            assert promotions(mails_to(app, bent["email"])) == 1, where
            assert_catalogue_agrees(catalogue_client, app, offering["id"], where)


def test_two_substitutions_of_one_place_hand_it_over_in_turn(enrolment_database, catalogue_database, app,
                                                             new_offering, place, stored, hr, viborg):
    with spawn_workers(enrolment_database, catalogue_database, PROCESSES, [2] * ROUNDS) as workers:
        for n in range(ROUNDS):
            offering = new_offering(n, capacity=1)
            anne, dorte, erik = (person(name, n) for name in ("Anne", "Dorte", "Erik"))
            anne_id = place(offering, anne, "confirmed")

            answers, log = workers.fire([
                call(f"to-{someone['name']}", "POST", f"/enrolments/{anne_id}/substitute", hr(viborg),
                     {"participant": someone}) for someone in (dorte, erik)])

            final = stored(anne_id)
            mails = {who["email"]: mails_to(app, who["email"]) for who in (anne, dorte, erik)}
            where = (f"round {n} ({shown(answers)}; held by {final['participant']['email']}; mails "
                     f"{ {email.split('@')[0]: subjects(listed) for email, listed in mails.items()} })")
            assert {answer["status"] for answer in answers} <= {200, 409}, f"{where}\n{log}"
            holders = [answer["json"]["participant"]["email"] for answer in answers if answer["status"] == 200]
            assert holders, f"{where}: neither substitution succeeded\n{log}"
            for holder in holders:
                assert taken_over(mails[holder]) == 1, f"{where}: {holder} took the place over once"
            assert handed_over(mails[anne["email"]]) == 1, (
                f"{where}: the place was handed over from Anne twice: both substitutions read her as its holder")
            # The substitutions in turn: Anne hands over to the first, the first to the second, who holds it.
            assert final["participant"]["email"] in holders, f"{where}: the place is held by neither newcomer"
            handed_on = {holder: handed_over(mails[holder]) for holder in holders}
            expected = {holder: 0 if holder == final["participant"]["email"] else 1 for holder in holders}
            assert handed_on == expected, (
                f"{where}: the place was handed over from someone who no longer held it, or the holder was not told")
            assert final["status"] == "confirmed", where


def test_hr_and_the_leader_cancelling_one_place_cancel_it_once(enrolment_database, catalogue_database, app,
                                                               catalogue_client, new_offering, place, stored, hr,
                                                               viborg):
    with spawn_workers(enrolment_database, catalogue_database, PROCESSES, [2] * ROUNDS) as workers:
        for n in range(ROUNDS):
            offering = new_offering(n, capacity=1)
            anne, bent, carla = (person(name, n) for name in ("Anne", "Bent", "Carla"))
            anne_id = place(offering, anne, "confirmed")
            bent_id = place(offering, bent, "waitlisted")
            carla_id = place(offering, carla, "waitlisted")
            token = page_token(app, anne["email"])

            answers, log = workers.fire([
                call("hr-cancel", "POST", f"/enrolments/{anne_id}/cancel", hr(viborg)),
                # "Meld fra" on Mine kurser: the worker loads the page first for the session's CSRF token.
                {"label": "meld-fra", "service": "enrolment", "method": "POST", "headers": {},
                 "path": f"/mine-kurser/{token}/afmeld/{anne_id}", "form": {}, "csrf_page": f"/mine-kurser/{token}"},
            ])

            by_hr, on_page = answers
            annes = mails_to(app, anne["email"])
            where = f"round {n} ({shown(answers)}, flashed {on_page.get('flashes')}; mails to Anne {subjects(annes)})"
            assert by_hr["status"] in (200, 409) and on_page["status"] == 303, f"{where}\n{log}"
            # The page answers 303 either way; what it flashed tells a cancellation from a refusal.
            page_cancelled = any(message.startswith("Du er meldt fra") for message in on_page["flashes"])
            page_refused = any(message.startswith("Fejl:") for message in on_page["flashes"])
            assert page_cancelled != page_refused, f"{where}: the page flashed neither or both"
            hr_cancelled = by_hr["status"] == 200
            assert hr_cancelled != page_cancelled, (f"{where}: " + (
                "the place was cancelled twice: by HR (200) and by the leader on the page" if hr_cancelled
                else "neither HR nor the leader cancelled the place") + f"\n{log}")
            if by_hr["status"] == 409:
                assert_refused(by_hr, where)
            assert stored(anne_id)["status"] == "cancelled", where
            assert cancellations(annes) == 1, f"{where}: Anne was told twice that her place was cancelled"
            assert_one_promotion(app, stored, (bent, bent_id), (carla, carla_id), where)
            assert_catalogue_agrees(catalogue_client, app, offering["id"], where)


CAPACITY_ROUNDS = 3
BEFORE, DURING = 5, 7  # enrolments before the round (3 seats taken, 2 waiting) and in it


def test_capacity_raised_during_enrolments_confirms_the_first_in_line(
        enrolment_database, catalogue_database, app, client, catalogue_client, new_offering, mercantec, place, auth,
        hr, viborg):
    school = auth("school", provider_id=mercantec["id"])
    with spawn_workers(enrolment_database, catalogue_database, 3, [DURING + 1] * CAPACITY_ROUNDS) as workers:
        for n in range(CAPACITY_ROUNDS):
            offering = new_offering(n, capacity=3)
            for k in range(BEFORE):
                place(offering, person(f"Leder{k}", n), "confirmed" if k < 3 else "waitlisted")
            enrolments = [call(f"enrol-{k}", "POST", "/enrolments", hr(viborg), {
                "offering_id": offering["id"], "participant": person(f"Leder{k}", n)})
                for k in range(BEFORE, BEFORE + DURING)]
            raise_capacity = call("capacity-6", "PATCH", f"/offerings/{offering['id']}", school, {"capacity": 6},
                                  service="catalogue")

            answers, log = workers.fire([*enrolments[:3], raise_capacity, *enrolments[3:]])

            line = places_in_line(app, offering["id"])
            where = f"round {n} ({Counter(answer['status'] for answer in answers)}; in line {line})"
            assert Counter(answer["status"] for answer in answers) == {201: DURING, 200: 1}, f"{where}\n{log}"
            confirmed = [place for place, status in line if status == "confirmed"]
            assert len(confirmed) == 6, f"{where}: the seats were given by a capacity other than the school's\n{log}"
            # The waiting list is first come, first served: the raise gave its seats to the first in line.
            assert confirmed == [place for place, _ in line[:6]], f"{where}: someone waiting was passed over"
            listed = client.get(f"/enrolments?offering_id={offering['id']}&per_page=100",
                                headers=hr(viborg)).get_json()["items"]
            positions = sorted(item["waitlist_position"] for item in listed if item["status"] == "waitlisted")
            assert positions == list(range(1, BEFORE + DURING - 6 + 1)), f"{where}: waiting list {positions}"
            assert_catalogue_agrees(catalogue_client, app, offering["id"], where)
            shown_now = catalogue_client.get(f"/offerings/{offering['id']}").get_json()
            assert (shown_now["capacity"], shown_now["seats_available"]) == (6, 0), where

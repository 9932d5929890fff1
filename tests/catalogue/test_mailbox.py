"""/postkasse shows what make run's local mail server (aiosmtpd's Maildir handler) received."""

from __future__ import annotations

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from catalogue import create_app
from shared.transaction import commit
from tests.accounts import add_member
from tests.catalogue.test_sign_in import ask_for_link
from tests.conftest import TOKEN_SECRET
from tests.smtp import free_port


def test_a_sign_in_link_mailed_by_the_catalogue_appears_on_the_mailbox_page(tmp_path, catalogue_database):
    maildir = tmp_path / "mailbox"
    for folder in ("tmp", "new", "cur"):
        (maildir / folder).mkdir(parents=True)
    server = Controller(Mailbox(str(maildir)), hostname="127.0.0.1", port=free_port())
    server.start()
    try:
        app = create_app({"DATABASE_URL": catalogue_database, "GLU_TOKEN_SECRET": TOKEN_SECRET, "TESTING": True,
                          "JOBS_IMMEDIATE": True, "MAILBOX_DIR": str(maildir), "SMTP_HOST": "127.0.0.1",
                          "SMTP_PORT": server.port, "SMTP_STARTTLS": False})
        with app.app_context():
            from catalogue.models import Provider, db

            school = Provider(name="Mercantec", search_text="")
            db.session.add(school)
            commit(db.session)
            school_id = school.id
        add_member(app, "admin@mercantec.example", school_id, "school_admin", "Mette Lund")
        client = app.test_client()

        ask_for_link(client, "admin@mercantec.example")
        inbox = client.get("/postkasse")
    finally:
        server.stop()

    assert inbox.status_code == 200
    html = inbox.get_data(as_text=True)
    assert "Dit link til at logge ind" in html and "Til admin@mercantec.example" in html
    assert '<a href="http://localhost/log-ind/' in html


def test_there_is_no_mailbox_page_without_mailbox_dir(catalogue_client):
    assert catalogue_client.get("/postkasse").status_code == 404

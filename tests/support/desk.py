"""A small desk to test on (two pools, users of every role, a case in each pool) and logins."""

from __future__ import annotations

from dataclasses import dataclass, field

PASSWORD = "pw-{}"


@dataclass
class Desk:
    """A small desk: two pools with an agent each, a supervisor of pool A, a manager, an
    admin, and cases in both pools."""

    pool_a: object = None
    pool_b: object = None
    users: dict = field(default_factory=dict)
    case_a: object = None
    case_b: object = None
    mailbox_a: object = None
    mailbox_b: object = None
    customer_a: object = None
    customer_b: object = None

    def user(self, name):
        return self.users[name]


def make_desk():
    from app.agents.models import AgentProfile, PoolMembership
    from app.audit.actor import acting_as
    from app.cases import services
    from app.cases.models import Message, MessageDirection
    from app.customers.models import Customer
    from app.extensions import db
    from app.mailcore.models import Mailbox
    from app.organisation.models import Pool
    from app.security.bootstrap import create_user

    desk = Desk()
    desk.pool_a = Pool(name="Pool A", sla_hours=8)
    desk.pool_b = Pool(name="Pool B", sla_hours=24)
    desk.mailbox_a = Mailbox(address="a@desk.test", pool=desk.pool_a)
    desk.mailbox_b = Mailbox(address="b@desk.test", pool=desk.pool_b)
    db.session.add_all([desk.pool_a, desk.pool_b, desk.mailbox_a, desk.mailbox_b])
    db.session.flush()
    specs = [
        ("admin", "Admin", None, False),
        ("manager", "Manager", None, False),
        ("supervisor_a", "Supervisor", desk.pool_a, True),
        ("agent_a", "Agent", desk.pool_a, False),
        ("agent_b", "Agent", desk.pool_b, False),
    ]
    for username, role, pool, supervises in specs:
        user = create_user(username, role, password=PASSWORD.format(username))
        desk.users[username] = user
        if pool is not None:
            profile = AgentProfile(user_id=user.id)
            db.session.add(profile)
            db.session.flush()
            db.session.add(
                PoolMembership(
                    agent_id=profile.id, pool_id=pool.id, priority=1, is_supervisor=supervises
                )
            )
    desk.customer_a = Customer(email="alice@customer.test", name="Alice")
    desk.customer_b = Customer(email="bob@customer.test", name="Bob")
    db.session.add_all([desk.customer_a, desk.customer_b])
    with acting_as(None):
        desk.case_a = services.open_case(
            pool=desk.pool_a,
            subject="Printer on fire",
            customer=desk.customer_a,
            mailbox=desk.mailbox_a,
            commit=False,
        )
        desk.case_b = services.open_case(
            pool=desk.pool_b,
            subject="Invoice wrong",
            customer=desk.customer_b,
            mailbox=desk.mailbox_b,
            commit=False,
        )
        for case, customer in ((desk.case_a, desk.customer_a), (desk.case_b, desk.customer_b)):
            db.session.add(
                Message(
                    case=case,
                    direction=MessageDirection.INBOUND,
                    from_address=customer.email,
                    subject=case.subject,
                    body_text=f"Help with: {case.subject}",
                    # As a mail client writes it: replies must thread to it.
                    message_id=f"<first-{customer.name.lower()}@customer.test>",
                )
            )
    db.session.commit()
    return desk


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, username: str):
        response = self.client.post(
            "/login/", data={"username": username, "password": PASSWORD.format(username)}
        )
        assert response.status_code == 302, f"login of {username} failed"
        return response

    def logout(self):
        return self.client.get("/logout/")

    def token(self, username: str) -> dict:
        """Bearer header for the REST API (JWT login)."""
        response = self.client.post(
            "/api/v1/security/login",
            json={"username": username, "password": PASSWORD.format(username), "provider": "db"},
        )
        assert response.status_code == 200, response.data
        return {"Authorization": f"Bearer {response.json['access_token']}"}

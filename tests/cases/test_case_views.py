"""The agent's case lists: open cases first, everything in the archive list."""

from app.audit.actor import acting_as
from app.cases import actions, services
from app.cases.views import OPEN_CASES_URL


def test_open_cases_list_hides_closed_cases(client, auth, desk):
    with acting_as(desk.user("agent_a")):
        actions.close(desk.case_a)
    with acting_as(None):
        other = services.open_case(pool=desk.pool_a, subject="Still open")
    auth.login("agent_a")
    assert client.get("/").location.endswith(OPEN_CASES_URL)
    open_page = client.get(OPEN_CASES_URL).data.decode()
    assert other.number in open_page
    assert desk.case_a.number not in open_page
    everything = client.get("/cases/list/").data.decode()
    assert desk.case_a.number in everything and other.number in everything
    # a closed case keeps its page
    assert client.get(f"/cases/show/{desk.case_a.id}").status_code == 200


def test_menu_offers_open_and_all_cases_to_agents(client, auth, desk):
    auth.login("agent_a")
    page = client.get(OPEN_CASES_URL).data.decode()
    assert "Open cases" in page and "All cases" in page


def test_quoted_reply_text_is_folded_but_kept(client, auth, desk):
    from app.cases.models import Message, MessageDirection
    from app.extensions import db

    body = "Thanks, that worked!\n\nOn Mon, 2 Nov 2026 at 10:00, Desk wrote:\n> old answer\n"
    db.session.add(
        Message(
            case=desk.case_a,
            direction=MessageDirection.INBOUND,
            from_address="alice@customer.test",
            body_text=body,
        )
    )
    db.session.commit()
    auth.login("agent_a")
    page = client.get(f"/cases/show/{desk.case_a.id}").data.decode()
    assert "Thanks, that worked!" in page
    assert '<details class="ld-msg-quoted">' in page and "&gt; old answer" in page

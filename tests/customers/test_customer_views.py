"""Customers by hand: supervisors and admins add customers and correct names and addresses;
every correction is an Event; a bad or taken address gets a clear answer at the field."""

from __future__ import annotations

from app.audit.models import Event
from app.customers.models import Customer
from app.extensions import db
from tests.support.forms import submit_form
from tests.support.records import refresh


def _customer_events(customer):
    return (
        db.session.query(Event)
        .filter_by(object_type="customer", object_id=customer.id)
        .order_by(Event.id)
        .all()
    )


def test_supervisor_corrects_name_and_address_and_it_is_recorded(desk, client, auth):
    customer = desk.customer_a
    customer.undeliverable = True  # the old address bounced
    db.session.commit()
    auth.login("supervisor_a")
    response = submit_form(
        client,
        f"/customers/edit/{customer.id}",
        {"name": "Alice Archer", "email": "  Alice.Archer@Customer.TEST "},
    )
    assert response.status_code == 302
    customer = refresh(customer)
    assert (customer.name, customer.email) == ("Alice Archer", "alice.archer@customer.test")
    assert customer.undeliverable is False  # the corrected address is tried again
    supervisor = desk.user("supervisor_a").id
    changes = {(e.field, e.old_value, e.new_value, e.actor_id) for e in _customer_events(customer)}
    assert changes == {
        ("name", "Alice", "Alice Archer", supervisor),
        ("email", "alice@customer.test", "alice.archer@customer.test", supervisor),
    }
    page = client.get(f"/customers/show/{customer.id}").get_data(as_text=True)
    assert "alice.archer@customer.test" in page


def test_a_bad_or_taken_address_is_refused_at_the_field(desk, client, auth):
    auth.login("supervisor_a")
    url = f"/customers/edit/{desk.customer_a.id}"
    page = submit_form(client, url, {"email": "alice at customer"}).get_data(as_text=True)
    assert "is not an e-mail address" in page
    page = submit_form(client, url, {"email": "BOB@customer.test"}).get_data(as_text=True)
    assert "Another customer already has the address bob@customer.test" in page
    assert refresh(desk.customer_a).email == "alice@customer.test"
    assert _customer_events(desk.customer_a) == []


def test_admins_and_supervisors_add_customers_agents_do_not(desk, client, auth):
    auth.login("admin")
    assert client.get("/customers/add").status_code == 200
    response = client.post(
        "/customers/add", data={"email": "Carol@Example.com", "name": "Carol", "language": "en"}
    )
    assert response.status_code == 302
    assert db.session.query(Customer).filter_by(email="carol@example.com").one().name == "Carol"
    auth.logout()

    auth.login("supervisor_a")
    client.post("/customers/add", data={"email": "dan@example.com", "language": "de"})
    dan = db.session.query(Customer).filter_by(email="dan@example.com").one()
    # A customer without a case belongs to no pool; the supervisor finds him again.
    assert client.get(f"/customers/show/{dan.id}").status_code == 200
    page = client.post("/customers/add", data={"email": "carol@example.com", "language": "en"})
    assert "Another customer already has the address carol@example.com" in page.get_data(
        as_text=True
    )
    assert db.session.query(Customer).filter_by(email="carol@example.com").count() == 1
    auth.logout()

    auth.login("agent_a")
    assert client.get("/customers/add").status_code == 403
    assert client.get(f"/customers/edit/{desk.customer_a.id}").status_code == 403
    # Agents still see only the customers of their cases.
    assert client.get(f"/customers/show/{dan.id}").status_code == 404


def test_api_corrects_customers_with_the_same_checks(desk, client, auth):
    headers = auth.token("supervisor_a")
    url = f"/api/v1/customer/{desk.customer_a.id}"
    response = client.put(url, json={"email": "not-an-address"}, headers=headers)
    assert response.status_code == 400 and "is not an e-mail address" in response.json["message"]
    response = client.put(url, json={"email": "bob@customer.test"}, headers=headers)
    assert response.status_code == 400 and "already has the address" in response.json["message"]
    response = client.put(url, json={"email": "Alice@New.test", "name": "A. New"}, headers=headers)
    assert response.status_code == 200, response.json
    assert refresh(desk.customer_a).email == "alice@new.test"
    assert {e.field for e in _customer_events(desk.customer_a)} == {"email", "name"}
    response = client.post("/api/v1/customer/", json={"email": "eve@x.test"}, headers=headers)
    assert response.status_code == 201, response.json
    assert db.session.query(Customer).filter_by(email="eve@x.test").one()

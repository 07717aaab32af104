"""Templates render in a sandbox with plain values, in the customer's language."""

from __future__ import annotations

import pytest

from tests.support.records import TINY_JPEG


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ case.__init__ }}",
        "{{ customer_name.__class__.__init__.__globals__ }}",
        "{{ config }}",
        "{{ config.SECRET_KEY }}",
        "{{ self.__init__.__globals__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ request.environ }}",
    ],
)
def test_a_template_cannot_reach_python_internals_or_config(answering, source):
    from app.answering import rendering

    context = rendering.placeholder_context(answering.case_a)
    with pytest.raises(rendering.TemplateProblem) as err:
        rendering.render_text(source, context)
    assert "test-secret-key" not in str(err.value)
    assert "object" not in str(err.value).split(":")[0]


def test_the_context_holds_only_plain_values_of_this_case(answering):
    from app.answering import rendering

    context = rendering.placeholder_context(answering.case_a, answering.user("agent_a"))
    assert set(context) == set(rendering.PLACEHOLDERS)
    assert all(isinstance(v, str) for v in context.values())
    rendered = rendering.render_text(
        "{{ customer_name }} {{ customer_email }} {{ case_number }}", context
    )
    assert rendered == f"Alice alice@customer.test {answering.case_a.number}"
    assert "bob" not in " ".join(context.values()).lower()
    # No way to walk from a value to other customers: there are no objects to walk from.
    with pytest.raises(rendering.TemplateProblem):
        rendering.render_text("{{ customer.cases }}", context)


def test_unknown_placeholder_is_a_clear_error(answering):
    from app.answering import rendering

    with pytest.raises(rendering.TemplateProblem, match="customer_nmae"):
        rendering.render_text("Hi {{ customer_nmae }}", {"customer_name": "x"})


def test_language_pick_with_fallback_to_desk_default(answering):
    from app.answering import rendering
    from app.answering.models import ResponseTemplate
    from app.extensions import db

    case = answering.case_a
    assert rendering.pick_template("greeting", case).language == "en"
    case.customer.language = "de"
    db.session.commit()
    assert rendering.pick_template("greeting", case).language == "de"
    case.customer.language = "fr"  # no French version: the desk default
    db.session.commit()
    assert rendering.pick_template("greeting", case).language == "en"
    # A pool-specific version beats the global one of the same language.
    db.session.add(
        ResponseTemplate(
            name="greeting", language="en", pool=answering.pool_a, body="Pool A greeting"
        )
    )
    db.session.commit()
    assert rendering.pick_template("greeting", case).body == "Pool A greeting"
    assert rendering.pick_template("greeting", answering.case_b).body != "Pool A greeting"


def test_compose_wraps_header_body_footer_signature_with_inline_image(answering):
    from app.answering import rendering

    mail = rendering.compose(
        answering.case_a, "Your printer is fixed.", agent=answering.user("agent_a")
    )
    assert mail.text.index("Dear Alice,") < mail.text.index("Your printer is fixed.")
    assert mail.text.index("Your printer is fixed.") < mail.text.index("Kind regards, Pool A")
    assert mail.text.index("Kind regards") < mail.text.index("agent_a, Printer support")
    assert f"[{answering.case_a.number}]" in mail.subject
    [(cid, ctype, data)] = mail.inline_images
    assert ctype == "image/jpeg" and data == TINY_JPEG
    assert f'src="cid:{cid}"' in mail.html


@pytest.mark.parametrize(
    "data, message",
    [
        (b"GIF89a....", "JPEG or PNG"),
        (b"", "empty"),
        (b"\xff\xd8\xff" + b"\x00" * (300 * 1024), "larger than"),
        (b"\xff\xd8\xff\xe0\x00\x02garbage-without-frame", "readable picture"),
    ],
)
def test_signature_image_must_be_a_sane_jpeg_or_png(answering, data, message):
    from app.answering.rendering import validate_signature_image
    from app.errors import DeskError

    with pytest.raises(DeskError, match=message):
        validate_signature_image(data)
    assert validate_signature_image(TINY_JPEG) == "image/jpeg"

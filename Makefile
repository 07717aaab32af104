# Loopdesk: `make run` starts the desk, `make test` runs the tests. Nothing else is needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(PY) -m flask --app run
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck format bench-quick clean translations

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# Serves http://127.0.0.1:5000 with the embedded queue. Another address or port:
#   LOOPDESK_HOST=0.0.0.0 LOOPDESK_PORT=8080 make run
# Links mailed to customers follow the address the desk is reached at, unless DESK_BASE_URL
# (e.g. https://desk.example.com) names the public one.
run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) desk init --demo
	LOOPDESK_EMBEDDED_WORKER=1 $(PY) run.py

# SQLite always; PostgreSQL and real Redis as well when TEST_DATABASE_URL / TEST_REDIS_URL
# are set (.ci/run sets them).
test: $(STAMP)
	$(PY) -m pytest -q
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== again on PostgreSQL ($$TEST_DATABASE_URL) =="; \
	  LOOPDESK_TEST_BACKEND=postgresql $(PY) -m pytest -q; \
	fi

# Style, the layers between features (import-linter, contracts in pyproject.toml) and types.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(MAKE) --no-print-directory typecheck

# The services and the machinery (mypy settings in pyproject.toml).
TYPED := app/core app/security app/features.py config.py app/mailcore/identity.py app/mailcore/addresses.py \
  app/agents/services.py app/customers/services.py app/cases/services.py app/cases/actions.py \
  app/cases/workflow.py app/cases/routing.py app/cases/queues.py app/cases/push.py \
  app/cases/handover.py app/cases/inactivity.py app/agents/absences.py \
  app/answering/replies.py app/answering/templates.py \
  app/answering/documents.py app/answering/richtext.py app/consultation/services.py \
  app/consultation/deadline.py app/outbox/services.py app/outbox/limits.py \
  app/health/checks.py app/health/metrics.py app/mail/spool.py app/questionnaires/services.py \
  app/cases/questions.py app/cases/presence.py \
  app/cases/due.py app/sla/calendar.py app/sla/services.py \
  forms_designer/schema.py forms_designer/builder.py forms_designer/services.py \
  reports/services.py reports/metrics.py reports/spreadsheet.py reports/dashboard.py reports/forecast.py \
  reports/business_time.py reports/subscriptions.py \
  app/cases/intake_answers.py app/organisation/topics.py app/topics/services.py \
  app/portal/services.py app/portal/i18n.py app/portal/settings.py app/portal/intake.py \
  app/webhooks/services.py app/webhooks/delivery.py app/webhooks/signing.py \
  app/webhooks/payloads.py app/webhooks/capture.py app/apikeys/services.py \
  app/knowledge/services.py app/knowledge/search.py \
  app/cases/retention.py app/cases/history.py app/audit/tracker.py app/privacy/services.py \
  app/search/services.py app/search/languages.py app/search/settings.py \
  app/mailcore/oauth.py
typecheck: $(STAMP)
	$(VENV)/bin/mypy $(TYPED)

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench-quick: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b --quick | tail -1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The portal's texts: extract them into portal.pot and update each language's catalogue
# (translate the new entries; tests/portal/test_languages.py fails while one is missing).
translations: $(STAMP)
	$(VENV)/bin/pybabel extract -F app/portal/babel.cfg -k gettext -k translate:2 --no-location \
	  --omit-header -o app/portal/translations/portal.pot app/portal
	$(VENV)/bin/pybabel update -i app/portal/translations/portal.pot -d app/portal/translations \
	  -D portal --no-fuzzy-matching --width 100

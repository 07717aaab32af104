"""Extension singletons shared by every app instance.

The AppBuilder is deliberately *not* here: one module-global AppBuilder does not register its
views on a second app (see shared notes, stack.md §1.6), so ``create_app`` builds one per app and
keeps it as ``app.appbuilder``.
"""

from flask_appbuilder.utils.legacy import get_sqla_class
from flask_mail import Mail
from flask_migrate import Migrate

db = get_sqla_class()()
migrate = Migrate()
mail = Mail()

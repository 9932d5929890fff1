"""The API contract: marshmallow schemas of everything that crosses between the services and to clients.

Output schemas (`OfferingSchema`, `ModuleSchema`, …) dump the catalogue's models and are loaded back
by the enrolment service's catalogue client; input schemas (`…CreateSchema`, `…PatchSchema`,
`OfferingQuerySchema`) validate what clients send. Validation here is per field; rules that need
the database or the whole offering live in the domain modules.
"""

from shared.schemas.base import *  # noqa: F403
from shared.schemas.catalogue import *  # noqa: F403
from shared.schemas.enrolment import *  # noqa: F403

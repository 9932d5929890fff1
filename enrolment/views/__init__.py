"""HTTP views of the enrolment service: parse with a shared schema, call one domain function, dump.

The request's commit point (shared.transaction) commits, or rolls back a refusal; views do not.
"""

from flask import current_app

from enrolment.catalogue_client import CatalogueClient


def catalogue() -> CatalogueClient:
    return current_app.extensions["catalogue_client"]

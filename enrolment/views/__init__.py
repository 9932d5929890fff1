"""HTTP views of the enrolment service: parse with a shared schema, call one domain function, commit, dump."""

from flask import current_app

from enrolment.catalogue_client import CatalogueClient


def catalogue() -> CatalogueClient:
    return current_app.extensions["catalogue_client"]

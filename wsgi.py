"""WSGI entry point: gunicorn wsgi:app, flask --app wsgi ..."""
import gc

from app import create_app

app = create_app()
# What the app built at start-up (models, mappers, routes, compiled templates) lives as long as the
# process: moved out of the collector's reach, it is not traversed again by every full collection.
gc.freeze()

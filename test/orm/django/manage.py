#!/usr/bin/env python3
"""Django's command line for the rowkeeper ORM test (test/t/081_orm_django.py)."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)

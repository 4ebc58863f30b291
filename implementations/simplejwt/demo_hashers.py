"""DEMO ONLY: Django's PBKDF2 hasher at 20,000 iterations, as Django's docs show for changing
the work factor (https://docs.djangoproject.com/en/5.2/topics/auth/passwords/). Production keeps
Django's default (1,000,000 in Django 5.2)."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class DemoPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 20_000

"""Keep ``locales/zh/LC_MESSAGES/messages.po`` in step with the code.

Run after adding or changing an interface string:

    .venv/bin/pybabel extract -F babel.cfg -k N_ --no-location --omit-header \\
        -o locales/messages.pot --ignore-dirs=".venv tests bench instance" .
    .venv/bin/pybabel update -i locales/messages.pot -d locales -l zh --no-fuzzy-matching

then translate the new entries in the .po file. ``tests/test_i18n.py`` fails while any
string in the code has no Chinese translation.
"""

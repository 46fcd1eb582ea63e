"""`casework demo`: migrate, load the demo data, print the sign-ins, and run the whole
product in the foreground (web and API, plus the background worker as a child process)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from casework.api.tokens import create_token, revoke_tokens
from casework.demo import portal, reference, retention

DEMO_TOKEN_DESCRIPTION = "demo"


class Command(BaseCommand):
    help = "Run the demo: migrate, load demo data, start worker and web server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--customers", type=int, default=2000)
        parser.add_argument("--smtp-port", type=int, default=2525)
        parser.add_argument("--no-serve", action="store_true", help="prepare only, then exit")

    def handle(self, *args: object, **options: Any) -> None:
        settings.CASEWORK_DATA_DIR.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"data directory: {settings.CASEWORK_DATA_DIR}")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        call_command("load_demo", customers=options["customers"])
        # A fresh token each start; the previous demo token stops working.
        revoke_tokens("anna", description=DEMO_TOKEN_DESCRIPTION)
        token = create_token("anna", description=DEMO_TOKEN_DESCRIPTION)
        revoke_tokens(retention.PARTNER_USER, description=DEMO_TOKEN_DESCRIPTION)
        partner_token = create_token(retention.PARTNER_USER, description=DEMO_TOKEN_DESCRIPTION)
        url = f"http://{options['host']}:{options['port']}"
        self.stdout.write(self.style.SUCCESS(f"\nCasework demo on {url}\n"))
        self.stdout.write(f"Sign in (password for all: {reference.DEMO_PASSWORD}):")
        for username, first, last, role, teams, _skills, _superuser in reference.AGENTS:
            team_text = ", ".join(teams) if teams else "all"
            self.stdout.write(f"  {username:<8} {role:<11} {first} {last} ({team_text})")
        self.stdout.write(f"\nAPI: {url}/api/v1/docs — token for anna:\n  {token}")
        self.stdout.write(f'  curl -H "Authorization: Bearer {token}" {url}/api/v1/cases\n')
        order = json.dumps(
            {"order": "MS-1", "customer_number": "K10000002", "offer": "international-option"}
        )
        self.stdout.write(
            f"Retention: Lisa's offer (the link in her campaign mail): {retention.lisa_link()}\n"
            f"Sales partner {retention.PARTNER_CODE} (user {retention.PARTNER_USER}), token:\n"
            f"  {partner_token}\n"
            f'  curl -H "Authorization: Bearer {partner_token}" '
            f"-H 'Content-Type: application/json' -d {shlex.quote(order)} "
            f"{url}/api/v1/partner/orders\n"
        )
        self.stdout.write(
            "Customer portal: sign-in links (single use, 15 minutes), Lisa:\n"
            f"  {portal.portal_sign_in_link(portal.LISA)}\n"
            "  Dr. Jana Wolff (collecting society member):\n"
            f"  {portal.portal_sign_in_link(portal.MEMBER)}"
        )
        self.stdout.write(
            f"Chat: the widget as a website embeds it: {url}/chat/try/ — agents answer in "
            f"{url}/chat/console/ (anna and carla are available)\n"
        )
        self.stdout.write(
            "Phone: play the telephone system (anna's line is 201), e.g. Helmut calls:\n"
            '  .venv/bin/casework phone call "030 2345 6789"   # then: phone answer|hangup ID\n'
        )
        mailboxes = ", ".join(address for address, *_ in reference.MAILBOXES)
        self.stdout.write(
            f"Mail in: SMTP {options['host']}:{options['smtp_port']} for {mailboxes}\n"
        )
        if options["no_serve"]:
            return
        command = [sys.executable, "-m", "casework.cli"]
        smtp = ["smtpd", "--host", options["host"], "--port", str(options["smtp_port"])]
        helpers = [subprocess.Popen([*command, "worker"]), subprocess.Popen([*command, *smtp])]
        if settings.CASEWORK_ROUTER == "process":  # the engine in a process of its own
            helpers.append(subprocess.Popen([*command, "router"]))
        try:
            # ASGI: the chat's and the desk's WebSockets run beside the pages.
            call_command("serve", host=options["host"], port=options["port"], asgi=True)
        finally:
            for helper in helpers:
                helper.terminate()
            for helper in helpers:
                helper.wait(timeout=10)

"""What the demo workspaces contain: people, customers and ticket stories.

Plain data only; app/cli/demo_workspaces.py turns it into rows through the
services. ``{product}`` and ``{company}`` in the texts are filled in per workspace.
"""
from __future__ import annotations

from dataclasses import dataclass

DEMO_PASSWORD = "demo-password"


@dataclass(frozen=True)
class Person:
    key: str  # how the ticket stories refer to them: admin, lead, agent, agent2
    email: str
    name: str
    role: str


@dataclass(frozen=True)
class Workspace:
    slug: str
    name: str
    timezone: str
    product: str
    people: tuple[Person, ...]
    customers: tuple[tuple[str, str], ...]  # (name, email) of requesters


@dataclass(frozen=True)
class Scenario:
    subject: str
    description: str  # Markdown
    priority: str
    tags: tuple[str, ...]
    reply: str  # the agent's first public reply
    customer: str  # the requester's follow-up
    resolution: str  # the agent's reply that solves it
    note: str  # an internal note


WORKSPACES = (
    Workspace(
        slug="acme",
        name="Acme Inc",
        timezone="Europe/London",
        product="Acme Cloud",
        people=(
            Person("admin", "admin@acme.test", "Ada Brennan", "admin"),
            Person("lead", "lead@acme.test", "Leo Marsh", "lead"),
            Person("agent", "agent@acme.test", "Priya Shah", "agent"),
            Person("agent2", "agent2@acme.test", "Tom Becker", "agent"),
        ),
        customers=(
            ("Maria Gonzalez", "maria.gonzalez@northwind.example"),
            ("James O'Connor", "james.oconnor@bluebird-logistics.example"),
            ("Sophie Laurent", "s.laurent@atelier-lumiere.example"),
            ("Kenji Watanabe", "kenji@watanabe-design.example"),
            ("Fatima Zahra", "fatima.zahra@medina-foods.example"),
            ("Olivia Smith", "olivia.smith@brightpath.example"),
            ("Lukas Novak", "lukas.novak@kestrel-labs.example"),
            ("Emma Johansson", "emma.johansson@fjord-retail.example"),
            ("Daniel Kim", "daniel.kim@hanriver.example"),
            ("Chloé Martin", "chloe.martin@petit-pain.example"),
            ("Rahul Mehta", "rahul@mehta-accounting.example"),
            ("Grace Adeyemi", "grace.adeyemi@lagos-ventures.example"),
        ),
    ),
    Workspace(
        slug="globex",
        name="Globex Corporation",
        timezone="America/New_York",
        product="Globex Hub",
        people=(
            Person("admin", "admin@globex.test", "Grace Okafor", "admin"),
            Person("agent", "agent@globex.test", "Diego Ramos", "agent"),
        ),
        customers=(
            ("Noah Williams", "noah.williams@summit-health.example"),
            ("Ava Brown", "ava.brown@riverside-school.example"),
            ("Carlos Silva", "carlos.silva@porto-marine.example"),
            ("Hannah Müller", "hannah.mueller@alpen-tech.example"),
            ("Ethan Davis", "ethan.davis@cobalt-energy.example"),
            ("Isabella Rossi", "isabella.rossi@trattoria-rossi.example"),
            ("Mohammed Al-Farsi", "m.alfarsi@gulfstream-trading.example"),
            ("Zoe Taylor", "zoe@taylor-studio.example"),
            ("William Chen", "william.chen@pacific-freight.example"),
            ("Mia Anderson", "mia.anderson@lakeside-clinic.example"),
        ),
    ),
)

# How many of each final status a workspace's ~50 stories end in.
STATUS_MIX = {"new": 8, "open": 12, "pending": 9, "on_hold": 4, "solved": 9, "closed": 8}

# Age in days of a story's ticket, by the status it ends in: new tickets are recent, closed ones old.
AGE_DAYS = {"new": (0, 2), "open": (1, 10), "pending": (2, 14), "on_hold": (3, 20),
            "solved": (3, 24), "closed": (10, 40)}

CHASERS = (
    "Hi, just checking this was received? We're still stuck.",
    "Any update on this? It's blocking part of the team.",
    "Adding a colleague's observation: it also happens on a second laptop.",
)

THANKS = (
    "That worked, thank you so much!",
    "Confirmed on our side, all good now. Thanks for the quick help.",
    "Perfect, that's exactly what we needed.",
)

ESCALATION_NOTES = (
    "Raised priority: the customer is on the Business plan and this blocks their whole team.",
    "Raising this one: second report of the same problem this week.",
)

S = Scenario
SCENARIOS = (
    S("Can't log in after resetting my password",
      "Hi,\n\nI reset my password this morning using the link in the email, but the login page still says "
      "**\"Email or password is incorrect\"**.\n\n- Browser: Chrome 131 on Windows 11\n- Tried an incognito window too\n\n"
      "Could you check my account?",
      "high", ("login", "account"),
      "Sorry about that! I can see the reset went through. Could you clear saved passwords for {product} in "
      "your browser and try again? Autofill sometimes keeps the old one.",
      "Cleared it and typed it by hand, still the same error.",
      "Found it: the reset link was used twice and the second use set a different password. I've sent you a "
      "fresh link that expires in an hour.",
      "Account shows two reset tokens consumed within a minute. Probably a mail scanner clicking the link."),
    S("SSO login fails with SAML error \"Invalid audience\"",
      "Since this morning none of our staff can sign in through Okta. The error page shows:\n\n"
      "```\nSAMLResponse rejected: Invalid audience\n```\n\nWe didn't change anything on our side as far as I know. "
      "This is **blocking 80 people**.",
      "urgent", ("sso", "login"),
      "Thanks for the detail. The audience in your identity provider must match the Entity ID shown under "
      "*Settings → Single sign-on*. Could you send a screenshot of both?",
      "Screenshots attached. They look identical to me?",
      "The Entity ID had a trailing slash on our side after Monday's change. We've corrected it: sign-ins "
      "should work again now.",
      "Engineering confirmed a config migration added trailing slashes to 14 tenants' Entity IDs."),
    S("Invoice INV-2291 charged twice",
      "Our credit card was charged twice for invoice INV-2291 (same amount, same day). Please refund the "
      "duplicate charge.",
      "high", ("billing", "refund"),
      "I can see both charges. I've asked our billing team to refund the second one; you'll get a "
      "confirmation email once it's processed.",
      "Thanks. How long does the refund usually take?",
      "The refund was issued today. Banks usually show it within 5–10 business days.",
      "Duplicate came from a retry after a gateway timeout. Refund issued in the billing console."),
    S("Change the billing address on our invoices",
      "We moved offices. Please use this address on future invoices:\n\n> 4th floor, 12 Harbour Street\n> "
      "Bristol BS1 4RD\n\nThe company name stays the same.",
      "low", ("billing",),
      "Done: the new address will appear on invoices from the next billing cycle. You can also change it "
      "yourself under *Billing → Details*.",
      "Could you re-issue last month's invoice with the new address as well?",
      "I've re-issued last month's invoice with the new address; it's in your billing history now.",
      "Re-issued invoices keep the same number; finance is fine with that."),
    S("CSV export stops at 10,000 rows",
      "When I export the contact list to CSV, the file always has exactly **10,000 rows**, but we have about "
      "14,500 contacts.\n\nSteps:\n1. Contacts → select all\n2. Export → CSV\n3. Open the file",
      "normal", ("export", "bug"),
      "Thanks for the clear steps. The direct download is capped at 10,000 rows; larger exports are sent by "
      "email as a link. Did you receive an email after the download?",
      "No email arrived, I checked spam too.",
      "We fixed the emailed export for lists over 10,000 rows. Please run the export again; the link will "
      "arrive within a few minutes.",
      "Export job failed silently for large lists: fix released in today's deploy."),
    S("API returns 429 Too Many Requests during nightly sync",
      "Our nightly sync job started failing with `429 Too Many Requests` after about 2,000 calls. We make "
      "roughly 5 requests per second.\n\nIs there a documented rate limit for {product}?",
      "high", ("api", "rate-limit"),
      "The limit is 300 requests per minute per token. Responses include `Retry-After`; honouring it avoids the "
      "errors. Could you also use the list endpoints with `limit=100` to cut the number of calls?",
      "We switched to pages of 100 and it's down to 600 calls. Still hitting the limit once in a while.",
      "We've raised your workspace limit to 600 requests per minute, which covers your peak with room to spare.",
      "Customer is on Business; a raised limit is within policy. Logged in the account notes."),
    S("Webhook deliveries failing with timeout",
      "Our webhook endpoint shows no calls since yesterday 14:00. In the delivery log every attempt says "
      "*timeout after 10s*. Our endpoint answers in under 200 ms when we test it with curl.",
      "high", ("webhooks", "integration"),
      "Thanks for checking. Our senders come from the addresses listed on the status page; could your firewall "
      "be blocking them after a recent change?",
      "Our network team says nothing changed, but they'll look again.",
      "Your load balancer's allow-list dropped one of our sender ranges. Once it was added back, the queued "
      "deliveries went through.",
      "Delivery log shows TCP connect timeouts, not slow responses: their side is dropping packets."),
    S("Feature request: dark mode",
      "Many of us work late shifts and the bright interface is tiring. Is a **dark mode** planned?",
      "low", ("feature-request", "ui"),
      "Thanks for the suggestion! I've added your vote to the dark mode request our product team is tracking.",
      "Great, please keep us posted.",
      "Good news: dark mode is now available under *Profile → Appearance*.",
      "Linked to the existing feature request; 37 votes now."),
    S("Mobile app crashes on launch after the update",
      "Since updating the iOS app this morning it crashes immediately on launch.\n\n- iPhone 15, iOS 18.1\n"
      "- App version 5.2.0\n\nReinstalling didn't help.",
      "high", ("mobile", "ios", "bug"),
      "Sorry about this. We're seeing a few reports of the same crash on iOS 18.1 and our mobile team is on "
      "it. In the meantime the web app works on mobile Safari.",
      "Colleagues on Android are fine, only iPhones.",
      "Version 5.2.1 fixes the crash and is now in the App Store. Please update and let us know.",
      "Crash in the offline cache migration on iOS 18.1. Hotfix 5.2.1 submitted for review."),
    S("Two-factor codes not arriving by SMS",
      "I'm not receiving the SMS codes for two-factor sign-in. My number is correct in my profile and other "
      "SMS arrive fine. I can't get into my account at all.",
      "urgent", ("2fa", "login"),
      "I'm sorry you're locked out. Our SMS provider reports delays to some carriers right now. Do you have "
      "your backup codes from when you set up two-factor sign-in?",
      "I don't have the backup codes, I never saved them.",
      "After verifying your identity with your admin, I've reset two-factor sign-in. Please set it up again "
      "with an authenticator app, which doesn't depend on SMS.",
      "Identity verified by their workspace admin on a call. 2FA reset per the runbook."),
    S("How do I add a new team member?",
      "We hired a new support agent. How do I give her access to {product}?",
      "low", ("how-to", "account"),
      "Admins can invite people under *Settings → People → Add person*. Choose the role (agent, lead or "
      "admin) and she'll get an email to set her password.",
      "Found it, thanks. Does a new seat change our invoice?",
      "Yes, seats are billed pro rata from the day they're added. Nothing else to do on your side.",
      "Simple how-to; pointed them to the docs page as well."),
    S("Delete all data of a former employee (GDPR request)",
      "A former employee has asked us to delete all of their personal data under GDPR article 17. They used "
      "the email `j.doe@northwind.example`. Please confirm once it's done.",
      "normal", ("gdpr", "privacy"),
      "Thanks. We can erase their profile and anonymise their comments. Could an admin of your workspace "
      "confirm the request in writing here?",
      "Confirming as workspace admin: please go ahead.",
      "The person's data has been erased and their comments anonymised. Our confirmation letter is attached "
      "for your records.",
      "Erasure run via the privacy tool; confirmation letter generated and attached."),
    S("Slack integration posts duplicate notifications",
      "Every new ticket is posted **twice** in our #support channel. It started after we re-connected the "
      "Slack integration last week.",
      "normal", ("slack", "integration", "bug"),
      "It looks like the old connection was never removed, so both are posting. Could you check "
      "*Settings → Integrations* for two Slack entries?",
      "Yes, there are two. Should I remove the older one?",
      "Yes, removing the older connection stops the duplicates. I've also made reconnecting replace the old "
      "one, so it won't happen again.",
      "Reconnect should replace the old install; logged a bug for that."),
    S("Dashboard very slow to load since Monday",
      "The main dashboard takes 20–30 seconds to load since Monday. Other pages are fine.\n\nOur workspace has "
      "grown a lot recently (about 200k records).",
      "high", ("performance",),
      "Thanks for the report. We're looking at the dashboard queries for larger workspaces. Which widgets do "
      "you have on it?",
      "Open tickets by agent, SLA breaches this week, and the 90-day trend chart.",
      "The 90-day trend chart was missing an index for workspaces your size. After this morning's fix the "
      "dashboard loads in under two seconds for you.",
      "Slow query log points at the trend widget, full scan on the events table."),
    S("Upgrade from Starter to Business plan",
      "We'd like to move to the Business plan from next month. Do we keep all our data and settings?",
      "normal", ("billing", "sales"),
      "Yes, everything stays as it is; the upgrade only unlocks features. Would you like it to start on the 1st "
      "or right away with a pro-rated charge?",
      "From the 1st please.",
      "Scheduled: your workspace moves to Business on the 1st. You'll see the new plan on that invoice.",
      "Upgrade scheduled in billing console for the 1st."),
    S("Cancel our subscription at the end of the term",
      "We've decided not to renew. Please cancel our subscription at the end of the current term, and tell us "
      "how to export our data before then.",
      "normal", ("billing", "cancellation"),
      "Sorry to see you go. I've set the subscription to end with the current term. Exports are under "
      "*Settings → Data export*. May I ask what made you decide to leave?",
      "Mostly budget. We may come back next year.",
      "Understood. Your account stays available until the end of the term, and your export is ready to "
      "download from the settings page.",
      "Reason: budget. Flagged for the win-back campaign next spring."),
    S("Reports show times in the wrong time zone",
      "Our weekly report shows all times one hour off. Our workspace is set to Europe/Berlin. Daylight saving "
      "time ended last week, maybe related?",
      "normal", ("reports", "timezone", "bug"),
      "Good catch: the report renderer used a cached offset after the daylight saving change. We're fixing it.",
      "Thanks. Will last week's report be corrected too?",
      "Fixed, and last week's report has been regenerated with the correct times.",
      "Report renderer cached the UTC offset per workspace; bug filed and fixed."),
    S("Attachments over 20 MB fail to upload",
      "Uploading a 24 MB PDF to a ticket fails with a generic **\"Upload failed\"** message. Smaller files work.",
      "normal", ("attachments", "bug"),
      "The attachment limit is 20 MB per file, and the message should have said so. For larger files, a link "
      "to a shared drive works well.",
      "Is there any way to raise the limit for our workspace?",
      "The limit is the same for every workspace, but the error now states it clearly.",
      "Improved error message shipped; limit stays."),
    S("Request for your SOC 2 report",
      "Our security team needs a copy of your latest **SOC 2 Type II** report for our vendor review.",
      "normal", ("security", "compliance"),
      "Happy to help. We share the report under NDA; I've sent our standard NDA to your email for signature.",
      "Signed NDA attached.",
      "Thanks! The report is now available to you in the trust portal; the link is in your email.",
      "NDA countersigned by legal."),
    S("Suspicious sign-in from an unknown location",
      "I got an email saying someone signed in to my account from a country I've never been to. I've changed my "
      "password. What else should I do?",
      "urgent", ("security", "account"),
      "Good move changing the password. I've ended all sessions on your account. Please also turn on "
      "two-factor sign-in under *Profile → Security*.",
      "Done. Can you tell me what they accessed?",
      "The session lasted two minutes and only opened the ticket list; nothing was changed or exported.",
      "Reviewed the audit log for that session: two page views, no changes."),
    S("Password reset emails land in spam",
      "Several of our users report that the password reset emails from {product} end up in their spam folder "
      "(Outlook / Microsoft 365).",
      "normal", ("email", "deliverability"),
      "Thanks for letting us know. Could you forward one of those emails with full headers so we can check the "
      "authentication results?",
      "Forwarded one from a colleague just now.",
      "Your mail filter flagged the link domain. We've switched reset emails to our main domain; they should "
      "arrive in the inbox now.",
      "Headers show SPF and DKIM pass; the link-tracking domain is the problem."),
    S("Import from our old helpdesk: tags missing",
      "We imported our old tickets with the CSV importer. The tickets are there but **none of the tags** came "
      "across. The tags column was called `Labels` in the file.",
      "normal", ("import", "migration"),
      "The importer looks for a column named `tags`. If you rename the column, re-running the import will "
      "add the tags to the existing tickets without duplicating them.",
      "Renamed and re-ran it, the tags are there now!",
      "Great. I've also asked for the importer to let you pick the tags column.",
      "Feature request logged: map CSV columns in the importer."),
    S("Bulk edit doesn't save the priority",
      "When I select several tickets and set the priority to *High* using bulk edit, the page says "
      "\"Updated\" but the priority doesn't change. Status changes through bulk edit work.",
      "normal", ("bug",),
      "I can reproduce this, thanks. Changing the priority one ticket at a time works in the meantime.",
      "OK, we'll do that for now.",
      "Fixed in today's release: bulk edit now saves priority changes.",
      "Reproduced on staging. Bulk form drops the priority field."),
    S("Copies of last year's invoices",
      "Our accountant needs PDF copies of all invoices from last year. Is there a way to download them all at "
      "once?",
      "low", ("billing",),
      "You can download each invoice from *Billing → History*. I've also put all of last year's invoices in one "
      "ZIP file for you; the link is in your email.",
      "Got it, thank you!",
      "You're welcome. The ZIP link stays valid for 7 days.",
      "Bulk invoice download would be a nice feature; noted."),
    S("SSL certificate on our custom domain expired",
      "Our help centre at `help.northwind.example` shows a certificate warning since this morning. It was "
      "working fine yesterday.",
      "urgent", ("custom-domain", "ssl"),
      "Sorry about this. Certificate renewal needs the CNAME record to point at us. Could you check whether it "
      "was changed recently?",
      "Our DNS provider migrated our zone last week, the CNAME might be missing.",
      "The CNAME is back and a new certificate was issued. The help centre is secure again.",
      "Renewal failed: DNS validation could not find the CNAME."),
    S("Search doesn't find archived projects",
      "When I search for an old project name, it doesn't show up. It's archived, but I'd still like to find it.",
      "low", ("search",),
      "Archived items are hidden from search by default. Add the filter *Include archived* to the search.",
      "Could that be the default for our workspace?",
      "I've passed this on as a feature request; for now the filter is remembered per person.",
      "Feature request: workspace default for archived items in search."),
    S("Google Calendar sync stopped working",
      "Due dates no longer appear in Google Calendar. The integration page says *Connected*.",
      "normal", ("integration", "google"),
      "Google access sometimes expires when a password changes. Could you disconnect and reconnect the "
      "integration?",
      "Reconnected, due dates are showing again. Thanks!",
      "Great. The integration page will now show an error when Google access expires.",
      "Token revoked on Google's side after the customer's password change."),
    S("Can't remove an admin who left the company",
      "A colleague who was an admin has left. When I try to deactivate her, the page says the workspace needs at "
      "least one admin, but I am an admin too.",
      "normal", ("account", "permissions"),
      "Could you check whether your own account is still active and has the admin role? The check only counts "
      "active admins.",
      "My role was lead, not admin. Our old admin must have changed it.",
      "I've checked with your account owner and made you admin; you can now deactivate the former colleague.",
      "Verified with the account owner by phone before changing the role."),
    S("Feature request: recurring tasks",
      "We'd love to be able to create **recurring tasks**, e.g. a monthly backup check. Is that on the roadmap?",
      "low", ("feature-request",),
      "Thanks for the idea! It's on our list for next quarter. I've added your vote.",
      "Thanks, looking forward to it.",
      "Recurring tasks are now available. You'll find them under *New task → Repeat*.",
      "Added vote to the recurring-tasks request."),
    S("Error 500 when saving a form with emoji in the title",
      "Saving a form with an emoji in the title (e.g. \"Launch 🚀\") gives an **Internal Server Error**. "
      "Without the emoji it saves.",
      "high", ("bug",),
      "Thanks, I can reproduce it. I've passed it to engineering as a high priority bug.",
      "Is there a workaround? Our marketing team uses emoji a lot.",
      "Fixed: titles with emoji now save correctly.",
      "Legacy column on the forms table was not UTF-8 capable. Migration scheduled."),
    S("VAT number missing on invoices",
      "Our VAT number isn't printed on our invoices, and our finance department needs it for reverse charge.",
      "normal", ("billing", "vat"),
      "Could you add it under *Billing → Details → Tax ID*? It then appears on all future invoices.",
      "Added it. Can you re-issue the last two invoices?",
      "Done: both invoices were re-issued with your VAT number.",
      "Re-issued INV-2310 and INV-2377."),
    S("API docs: pagination example is wrong",
      "The pagination example in the API docs uses `page_size`, but the API ignores it. `limit` seems to work.",
      "low", ("api", "docs"),
      "You're right, thank you! The parameter is `limit`. I've asked our docs team to correct the example.",
      "Thanks!",
      "The docs are corrected now.",
      "Docs PR opened."),
    S("Emails from the app show the wrong sender name",
      "Notifications to our customers are sent as \"{product} Notifications\" instead of our company name.",
      "low", ("email",),
      "You can set the sender name under *Settings → Email → Sender name*.",
      "Perfect, found it.",
      "Glad that helped!",
      "How-to; no bug."),
    S("Question about data retention settings",
      "How long do you keep deleted tickets and attachments? Our DPO is asking for the exact retention periods.",
      "low", ("privacy", "how-to"),
      "Deleted items are kept for 30 days so they can be restored, then erased. Backups are kept for 35 days.",
      "Is that documented somewhere we can link to?",
      "Yes: the *Data retention* section of our privacy policy lists these periods.",
      "Sent the privacy policy link."),
    S("Everything returns 502 Bad Gateway",
      "None of our agents can load {product}; every page returns **502 Bad Gateway**. Is there an outage?",
      "urgent", ("outage",),
      "Yes, we're aware of an issue affecting part of our infrastructure and are working on it. Updates are on "
      "our status page.",
      "Still 502 here, 20 minutes later.",
      "The incident is resolved and all services are working again. We're sorry for the disruption; a report "
      "will follow on the status page.",
      "Incident: load balancer failover. Linked to the incident record."),
    S("Sandbox account for testing the API",
      "We're building an integration with the {product} API. Is there a sandbox where we can test without "
      "touching live data?",
      "normal", ("api", "sandbox"),
      "Yes: I've created a sandbox workspace for you with a copy of your settings. The credentials are in your "
      "email.",
      "Thanks! Does the sandbox have the same rate limits?",
      "The sandbox allows 60 requests per minute, which is enough for testing.",
      "Sandbox created, expires in 90 days."),
    S("Audit log doesn't show user deletions",
      "We deleted two user accounts last week but can't find the deletions in the audit log. We need them for "
      "our ISO audit.",
      "normal", ("audit", "bug"),
      "Deactivations appear as *User updated* with the change \"active: false\". Could you filter by the "
      "*People* type?",
      "Found them, thanks. The label could be clearer.",
      "Agreed. I've passed on a request to show deactivations more clearly.",
      "Not a bug, a labelling issue."),
    S("PDF export cuts off the last column",
      "When exporting the weekly report to PDF, the last column (\"Resolved\") is cut off. A4, portrait.",
      "normal", ("export", "pdf"),
      "Thanks. Landscape orientation fits all columns in the meantime.",
      "Landscape works.",
      "The PDF export now shrinks wide tables to fit the page.",
      "Column widths are not scaled in portrait mode."),
    S("Keyboard shortcuts don't work in Firefox",
      "Shortcuts like `g` then `t` (go to tickets) don't do anything in Firefox 133. In Chrome they work.",
      "low", ("browser", "bug"),
      "Thanks for the report. Could you check whether an extension (e.g. Vimium) is capturing the keys?",
      "Yes! Disabling Vimium makes them work.",
      "Great, glad it's sorted. You can also exclude {product} in the extension's settings.",
      "Extension conflict."),
    S("Setting up SLA policies for VIP customers",
      "We want shorter response times for a handful of VIP customers. How do we set up a separate SLA policy "
      "for them?",
      "normal", ("sla", "how-to"),
      "Create a new SLA policy with the shorter targets, then add a condition on the tag `vip`. Tickets tagged "
      "`vip` will use it.",
      "Can the tag be added automatically based on the requester's domain?",
      "Yes: a trigger can add the `vip` tag when the requester's email matches the domains you list.",
      "Walked them through triggers on a call."),
    S("Our account is locked after too many attempts",
      "After several wrong passwords my account is locked. I'm sure I now have the right password.",
      "high", ("login", "account"),
      "Accounts unlock automatically after 15 minutes. If it's urgent, an admin of your workspace can unlock "
      "you right away.",
      "It's been an hour and still locked.",
      "The lock didn't expire because of a clock issue on our side. I've unlocked your account.",
      "Lockout expiry compared local time to UTC. Reported to the auth team."),
    S("Discount for a non-profit organisation",
      "We're a registered charity. Do you offer discounts for non-profits?",
      "low", ("billing", "sales"),
      "We do: 30% on all plans. Could you send proof of your charitable status?",
      "Attached our registration certificate.",
      "Thanks! The non-profit discount is now applied to your subscription.",
      "Registration checked against the public charity register."),
    S("German translation is incomplete",
      "With the interface language set to German, several menus are still in English (Settings, Reports).",
      "low", ("i18n",),
      "Thanks for pointing it out. Our translators are finishing the German strings for those pages.",
      "Happy to help proofread if that's useful.",
      "The missing German translations are live now. Thanks for the offer to proofread!",
      "Missing strings passed to the translators."),
    S("Zapier trigger not firing for new records",
      "Our Zapier zap with the trigger \"New ticket in {product}\" stopped firing last Tuesday.",
      "normal", ("zapier", "integration"),
      "We changed the Zapier app last Tuesday. Could you reconnect your {product} account in Zapier so the zap "
      "uses the new version?",
      "Reconnected, the test trigger works now.",
      "Great! Your zap will pick up new tickets again.",
      "Zap pinned to the old app version."),
    S("Is an on-premise installation available?",
      "Our IT policy prefers on-premise software. Can {company} be installed on our own servers?",
      "low", ("sales",),
      "We only offer {product} as a hosted service, but we can host your workspace in an EU-only region. "
      "Would that fit your policy?",
      "We'll discuss it with IT and come back to you.",
      "Sure! I've sent you our data processing agreement and hosting details in the meantime.",
      "Lead for the EU-hosting offer; passed to sales."),
    S("Notification emails arrive hours late",
      "Assignment notifications arrive 2–3 hours after the ticket was assigned. This makes our SLA hard to "
      "meet.",
      "high", ("email", "notifications"),
      "Thanks. We're seeing a backlog in our email queue and are working on it.",
      "Still delayed today.",
      "The email queue is back to normal; notifications now go out within a minute.",
      "Email worker pool was undersized after the migration."),
    S("Screen reader can't read the main menu",
      "One of our agents uses NVDA. The main menu items are announced as \"link\" without their names.",
      "normal", ("accessibility",),
      "Thank you for reporting this. The menu icons are missing labels; we're fixing it.",
      "Thanks, that would help her a lot.",
      "The menu now has proper labels. Please let us know if anything else is hard to use with NVDA.",
      "Missing aria-labels on icon-only links."),
    S("Duplicate contacts after CSV import",
      "After importing our contacts, many appear **twice**. The emails are the same, only the case differs "
      "(`Anna@...` vs `anna@...`).",
      "normal", ("import", "bug"),
      "Thanks, the importer should treat emails without regard to case. We can merge the duplicates for you.",
      "Yes please, merge them.",
      "All 212 duplicates are merged, and the importer now ignores case in emails.",
      "Merge script run; importer fix shipped."),
    S("Read-only role for our auditors",
      "External auditors need to see tickets and the audit log without being able to change anything. Is there "
      "a read-only role?",
      "normal", ("permissions", "feature-request"),
      "There isn't a read-only role yet. An export of the audit log might cover the auditors' needs for now.",
      "The export would do for this year.",
      "I've sent the audit log export for the period your auditors asked for.",
      "Read-only role requested by three customers this quarter."),
    S("Payment failed: card declined, but the bank says it's fine",
      "Our renewal payment failed with \"card declined\". Our bank says they didn't decline anything.",
      "high", ("billing", "payments"),
      "The payment provider reports the card asked for 3-D Secure confirmation, which can't happen on automatic "
      "renewals. Could you pay the open invoice from *Billing → History*?",
      "Paid it manually just now.",
      "Payment received, thank you. Your subscription is renewed.",
      "3DS required by issuer; manual payment link sent."),
)

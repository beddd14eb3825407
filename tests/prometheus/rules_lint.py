#!/usr/bin/env python3
"""What promtool does not check in deploy/: every alert has a summary and a
runbook_url whose anchor is a heading of the README, every alert is tested
both firing and quiet in orderline.rules.test.yml, and every panel of the
Grafana dashboard has a PromQL target.

usage: rules_lint.py REPO_ROOT"""
import json
import re
import sys

import yaml


def anchors(readme):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to -."""
    out = set()
    for line in readme.splitlines():
        m = re.match(r"^#+\s+(.*)$", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            out.add(slug)
    return out


def main(root):
    problems = []
    rules = yaml.safe_load(open(f"{root}/deploy/prometheus/orderline.rules.yml"))
    tests = yaml.safe_load(open(f"{root}/deploy/prometheus/orderline.rules.test.yml"))
    heads = anchors(open(f"{root}/README.md").read())
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    if not alerts:
        problems.append("no alerts in orderline.rules.yml")
    firing, quiet = set(), set()
    for t in tests["tests"]:
        for a in t.get("alert_rule_test", []):
            (firing if a.get("exp_alerts") else quiet).add(a["alertname"])
    for a in alerts:
        name, ann = a["alert"], a.get("annotations", {})
        if not ann.get("summary"):
            problems.append(f"{name}: no summary")
        url = ann.get("runbook_url", "")
        if not url.startswith("README.md#"):
            problems.append(f"{name}: runbook_url {url!r} is not README.md#ANCHOR")
        elif url.split("#", 1)[1] not in heads:
            problems.append(f"{name}: README has no heading for {url}")
        if name not in firing:
            problems.append(f"{name}: never tested firing")
        if name not in quiet:
            problems.append(f"{name}: never tested quiet")
    dash = json.load(open(f"{root}/deploy/grafana/orderline.json"))
    panels = [p for p in dash["panels"] if p.get("type") != "row"]
    if not panels:
        problems.append("the dashboard has no panels")
    for p in panels:
        exprs = [t.get("expr", "") for t in p.get("targets", [])]
        if not exprs or not all(e.strip() for e in exprs):
            problems.append(f"panel {p.get('title')!r}: a target without PromQL")
    for p in problems:
        print("rules_lint:", p)
    print(f"rules_lint: {len(alerts)} alerts, {len(panels)} panels, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

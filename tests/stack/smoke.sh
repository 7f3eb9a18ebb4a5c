#!/usr/bin/env bash
# Smoke check of the local Ory stack with nothing but curl: starts a stack, exercises each
# server once, stops it and checks that none of its processes survive.
#
#   tests/stack/smoke.sh            # private throw-away state dir: never touches <repo>/.stack
#   ORY_IAM_STACK_DIR=DIR tests/stack/smoke.sh
#
# The default state dir is a fresh temp dir on purpose: a stack other people's tests are using
# in <repo>/.stack would otherwise be reused and then stopped by this script.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

own_state=""
if [ -z "${ORY_IAM_STACK_DIR:-}" ]; then
  own_state="$(mktemp -d /tmp/ory-iam-smoke.XXXXXX)"
  export ORY_IAM_STACK_DIR="$own_state"
fi
state="$ORY_IAM_STACK_DIR"
failures=0
pass() { echo "smoke: ok   $*"; }
fail() { echo "smoke: FAIL $*" >&2; failures=$((failures + 1)); }

# json EXPR: evaluate a Python expression over the JSON document on stdin (bound to `j`).
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# call METHOD URL [curl args...]: prints the body, then the status code on the last line.
call() {
  local method=$1 url=$2; shift 2
  curl -sS -X "$method" -w '\n%{http_code}' "$@" "$url"
}
body() { sed '$d' <<<"$1"; }
code() { tail -n1 <<<"$1"; }
expect() { # expect WHAT WANTED_CODE RESPONSE
  if [ "$(code "$3")" = "$2" ]; then pass "$1 ($2)"; else fail "$1: HTTP $(code "$3") (wanted $2): $(body "$3" | head -c 400)"; fi
}

t0=$SECONDS
"$here/up" --fresh
up_secs=$((SECONDS - t0))
stack="$state/stack.json"
pids_before="$(cat "$state/pids.json")"
trap '[ -f "$state/pids.json" ] && "$here/down" >/dev/null 2>&1 || true' EXIT
trap 'echo "smoke: FAIL aborted at line $LINENO: $BASH_COMMAND (logs in $state/logs)" >&2' ERR
q() { json "$1" <"$stack"; }

# --- Kratos: one identity per tenant through the admin API; the tenants are separate stores.
for tenant in customer admin; do
  admin="$(q "j['kratos']['$tenant']['admin_url']")"
  extra='"name":{"first":"Smoke","last":"Test"}'                  # customer schema
  [ "$tenant" = admin ] && extra='"department":"operations"'     # admin schema
  traits='{"email":"smoke-'"$tenant"'@example.test","roles":["smoke"],'"$extra"'}'
  r="$(call POST "${admin}admin/identities" -H 'Content-Type: application/json' \
        -d '{"schema_id":"'"$tenant"'","traits":'"$traits"'}')"
  expect "kratos[$tenant] POST /admin/identities" 201 "$r"
  got="$(body "$r" | json "j.get('schema_id')")"
  [ "$got" = "$tenant" ] && pass "kratos[$tenant] schema_id=$got" || fail "kratos[$tenant] schema_id=$got"
done
other="$(q "j['kratos']['admin']['admin_url']")"
r="$(call POST "${other}admin/identities" -H 'Content-Type: application/json' \
      -d '{"schema_id":"admin","traits":{"email":"x@example.test","name":{"first":"No"}}}')"
expect "kratos[admin] rejects a trait outside its schema" 400 "$r"
n="$(curl -sS "${other}admin/identities?credentials_identifier=smoke-customer@example.test" | json "len(j)")"
[ "$n" = 0 ] && pass "kratos tenants are independent" || fail "customer identity visible in admin tenant ($n)"

# --- Kratos: native (API) registration with a password, then whoami with the session token.
pub="$(q "j['kratos']['customer']['public_url']")"
cadmin="$(q "j['kratos']['customer']['admin_url']")"
r="$(call GET "${pub}self-service/registration/api" -H 'Accept: application/json')"
expect "kratos registration/api init" 200 "$r"
action="$(body "$r" | json "j['ui']['action']")"
has_pw="$(body "$r" | json "any(n['attributes'].get('name')=='password' for n in j['ui']['nodes'])")"
[ "$has_pw" = True ] && pass "registration flow offers password in one step" || fail "no password node in the first step"
r="$(call POST "$action" -H 'Content-Type: application/json' -H 'Accept: application/json' \
      -d '{"method":"password","password":"Smoke-Passw0rd!x","traits":{"email":"native@example.test","name":{"first":"Na","last":"Tive"}}}')"
expect "kratos registration submit (method=password)" 200 "$r"
token="$(body "$r" | json "j.get('session_token') or ''")"
[ -n "$token" ] && pass "registration returned a session token" || fail "no session_token (session hook?)"
r="$(call GET "${pub}sessions/whoami" -H "X-Session-Token: $token")"
expect "kratos GET /sessions/whoami" 200 "$r"
email="$(body "$r" | json "j['identity']['traits']['email']")"
[ "$email" = native@example.test ] && pass "whoami identity $email" || fail "whoami identity $email"
# Verification is on: registration queued an email. No courier worker runs, so it stays queued
# and, thanks to --dev, its body (with the code) is readable.
r="$(call GET "${cadmin}admin/courier/messages?recipient=native@example.test")"
expect "kratos GET /admin/courier/messages" 200 "$r"
msg="$(body "$r" | json "(j[0]['status'], '<redacted' not in j[0]['body']) if j else None")"
[ "$msg" = "('queued', True)" ] && pass "verification email queued, body readable" || fail "courier messages: $msg"

# --- Kratos: native recovery by code. The code comes from the queued email; with
# use_continue_with_transitions the last step answers 200 with a session token to continue with.
r="$(call GET "${pub}self-service/recovery/api" -H 'Accept: application/json')"
expect "kratos recovery/api init" 200 "$r"
action="$(body "$r" | json "j['ui']['action']")"
r="$(call POST "$action" -H 'Content-Type: application/json' -H 'Accept: application/json' \
      -d '{"method":"code","email":"native@example.test"}')"
expect "kratos recovery: send code" 200 "$r"
rcode="$(curl -sS "${cadmin}admin/courier/messages?recipient=native@example.test" | python3 -c "
import json, re, sys
msgs = [m for m in json.load(sys.stdin) if 'recover' in m['subject'].lower()]
print(re.search(r'\b(\d{6})\b', msgs[0]['body']).group(1) if msgs else '')")"
[ -n "$rcode" ] && pass "recovery code read from the queued email" || fail "no recovery email/code"
r="$(call POST "$action" -H 'Content-Type: application/json' -H 'Accept: application/json' \
      -d '{"method":"code","code":"'"$rcode"'"}')"
expect "kratos recovery: submit code" 200 "$r"
cw="$(body "$r" | json "sorted(c['action'] for c in j.get('continue_with') or [])")"
case "$cw" in *set_ory_session_token*) pass "recovery continue_with $cw" ;; *) fail "recovery continue_with: $cw" ;; esac

# --- Kratos: browser login over plain http with a cookie jar: the CSRF cookie round-trips and
# the session cookie carries the tenant's own name (cookies lack `Secure` only thanks to --dev).
jar="$state/smoke.cookies"
r="$(call GET "${pub}self-service/login/browser" -H 'Accept: application/json' -c "$jar" -b "$jar")"
expect "kratos login/browser init" 200 "$r"
action="$(body "$r" | json "j['ui']['action']")"
csrf="$(body "$r" | json "[n['attributes']['value'] for n in j['ui']['nodes'] if n['attributes'].get('name')=='csrf_token'][0]")"
r="$(call POST "$action" -H 'Content-Type: application/json' -H 'Accept: application/json' -c "$jar" -b "$jar" \
      -d '{"method":"password","identifier":"native@example.test","password":"Smoke-Passw0rd!x","csrf_token":"'"$csrf"'"}')"
expect "kratos browser login submit" 200 "$r"
cookie="$(q "j['kratos']['customer']['session_cookie_name']")"
grep -q "[[:space:]]$cookie[[:space:]]" "$jar" && pass "session cookie $cookie set over http" || fail "no $cookie cookie in the jar"
r="$(call GET "${pub}sessions/whoami" -b "$jar")"
expect "kratos whoami by cookie" 200 "$r"

# --- Keto: write a tuple, check it (allowed 200, denied 403).
read="$(q "j['keto']['read_url']")"; write="$(q "j['keto']['write_url']")"
tuple='{"namespace":"documents","object":"doc-1","relation":"viewer","subject_id":"alice"}'
r="$(call PUT "${write}admin/relation-tuples" -H 'Content-Type: application/json' -d "$tuple")"
expect "keto PUT /admin/relation-tuples" 201 "$r"
r="$(call GET "${read}relation-tuples/check?namespace=documents&object=doc-1&relation=viewer&subject_id=alice")"
expect "keto check alice (allowed)" 200 "$r"
r="$(call GET "${read}relation-tuples/check?namespace=documents&object=doc-1&relation=viewer&subject_id=bob")"
expect "keto check bob (denied)" 403 "$r"
for ns in groups folders; do
  r="$(call PUT "${write}admin/relation-tuples" -H 'Content-Type: application/json' \
        -d '{"namespace":"'"$ns"'","object":"o","relation":"member","subject_id":"alice"}')"
  expect "keto namespace $ns" 201 "$r"
done

# --- Hydra: a client_credentials client, a token, and introspection of it.
hpub="$(q "j['hydra']['public_url']")"; hadm="$(q "j['hydra']['admin_url']")"
r="$(call POST "${hadm}admin/clients" -H 'Content-Type: application/json' \
      -d '{"client_name":"smoke","grant_types":["client_credentials"],"scope":"read write","token_endpoint_auth_method":"client_secret_basic"}')"
expect "hydra POST /admin/clients" 201 "$r"
cid="$(body "$r" | json "j['client_id']")"; csec="$(body "$r" | json "j['client_secret']")"
r="$(call POST "${hpub}oauth2/token" -u "$cid:$csec" -d 'grant_type=client_credentials&scope=read')"
expect "hydra client_credentials token" 200 "$r"
at="$(body "$r" | json "j['access_token']")"
r="$(call POST "${hadm}admin/oauth2/introspect" -d "token=$at")"
expect "hydra introspect" 200 "$r"
active="$(body "$r" | json "(j['active'], j.get('client_id')=='$cid')")"
[ "$active" = "(True, True)" ] && pass "token active for the client" || fail "introspection: $active"
r="$(call GET "${hpub}.well-known/openid-configuration")"
issuer="$(body "$r" | json "j['issuer']")"
[ "$issuer" = "$(q "j['hydra']['issuer']")" ] && pass "hydra issuer $issuer" || fail "issuer $issuer"

# --- Redis: PING on its own port (not Debian's 6379).
rport="$(q "j['redis']['url'].rsplit(':',1)[1].split('/')[0]")"
pong="$(python3 -c "import socket; s=socket.create_connection(('127.0.0.1',$rport),2); s.sendall(b'PING\r\n'); print(s.recv(16).decode().strip())")"
[ "$pong" = "+PONG" ] && pass "redis PING on $rport" || fail "redis: $pong"

# --- down, then make sure nothing of this stack is left.
"$here/down"
trap - EXIT
left=""
pids="$(python3 -c "import json,sys; print(' '.join(str(v['pid'] if isinstance(v, dict) else v) for v in json.loads(sys.argv[1]).values()))" "$pids_before")"
echo "smoke: checking that pids $pids are gone"
for pid in $pids; do
  if [ -e "/proc/$pid" ] && ! grep -q '^Z' <(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null); then left="$left $pid"; fi
done
# Also by name: any kratos/keto/hydra using this state dir, and redis on this port.
stray="$(ps -eo pid=,args= | grep -E "[k]ratos-|[k]eto-|[h]ydra-|[r]edis-server" | grep -E "$state|127\.0\.0\.1:$rport\b" || true)"
[ -z "$left$stray" ] && pass "down: no kratos/keto/hydra/redis-server process of this stack left" \
  || fail "processes survived down:$left $stray"
[ ! -f "$state/pids.json" ] && pass "down removed pids.json" || fail "pids.json still there"
"$here/down" >/dev/null && pass "down is idempotent" || fail "second down failed"

echo "smoke: up took ${up_secs}s"
if [ "$failures" -ne 0 ]; then
  echo "smoke: $failures check(s) failed; logs in $state/logs" >&2
  exit 1
fi
[ -n "$own_state" ] && rm -rf "$own_state"  # kept on failure, for its logs
echo "smoke: all checks passed"

# Outside DKIM verifier for the tests: Debian's python3-dkim (dkimpy), not our code.
# Reads JSON from stdin: [{"message": <base64>, "records": {<dns name>: <TXT>}}, ...] and
# prints one JSON line: per message, per DKIM-Signature field in order, whether it verified.
import base64, json, sys
import dkim

def verify(message, records):
    def dns(name, timeout=5):
        return records.get(name.decode().rstrip("."), "").encode() or None
    head = message.split(b"\r\n\r\n", 1)[0]
    count = sum(1 for line in head.split(b"\r\n") if line.lower().startswith(b"dkim-signature:"))
    results = []
    for index in range(count):
        verifier = dkim.DKIM(message)
        try:
            ok = verifier.verify(idx=index, dnsfunc=dns)
            results.append({"ok": bool(ok), "domain": (verifier.domain or b"").decode(), "selector": (verifier.selector or b"").decode()})
        except Exception as error:  # a verifier error is a failed verification, with its reason
            results.append({"ok": False, "error": str(error)})
    return results

print(json.dumps([verify(base64.b64decode(item["message"]), item["records"]) for item in json.load(sys.stdin)]))

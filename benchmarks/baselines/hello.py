"""Bare Flask: ``GET /hello`` answers a small JSON document. Nothing else."""

from __future__ import annotations

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/hello")
def hello():
    return jsonify({"message": "hello", "ok": True})


@app.get("/health")
def health():
    return jsonify({"status": "ok"})

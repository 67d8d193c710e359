"""The counter-api of `assay init`, on Flask and gunicorn installed from PyPI."""
import threading

from flask import Flask, jsonify

app = Flask(__name__)
lock = threading.Lock()
counter = {"value": 0}


@app.get("/healthz")
def health():
    return jsonify(status="ok")


@app.get("/v1/hello")
def hello():
    return jsonify(message="hello")


@app.get("/v1/counter")
def read_counter():
    with lock:
        return jsonify(value=counter["value"])


@app.post("/v1/counter")
def bump_counter():
    with lock:
        counter["value"] += 1
        return jsonify(value=counter["value"])

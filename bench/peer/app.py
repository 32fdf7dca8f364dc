"""The peer an ML team would build, for bench/online.ts: FastAPI + uvicorn (uvloop, httptools) + orjson +
LightGBM's own pred_contrib, reading a ready feature vector (float32 bytes) from Redis. It does less than
Leadrank: no audit, no next-best action, no rules fallback, no auth.

Env: PEER_MODEL (LightGBM model.txt), PEER_CALIBRATION (calibration.json, Platt a/b), REDIS_URL, PEER_PREFIX.
Run: uvicorn app:app --workers 2 --loop uvloop --http httptools (bench/online.ts starts it).
"""

import json
import math
import os
import warnings
from pathlib import Path

import lightgbm as lgb
import numpy as np
import redis.asyncio as redis
from fastapi import FastAPI, HTTPException
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel

# The peer answers with orjson; FastAPI now prefers its own serializer and warns on every response.
warnings.filterwarnings("ignore", message="ORJSONResponse is deprecated")

booster = lgb.Booster(model_file=os.environ["PEER_MODEL"])
names = booster.feature_name()
width = booster.num_feature()
calibration_file = os.environ.get("PEER_CALIBRATION")
calibration = json.loads(Path(calibration_file).read_text()) if calibration_file else {}
prefix = os.environ.get("PEER_PREFIX", "lrpeer")
store = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
app = FastAPI(default_response_class=ORJSONResponse)


class ScoreRequest(BaseModel):
    id: str


def platt(raw: float) -> float:
    a = calibration.get("a")
    b = calibration.get("b")
    if a is None or b is None:
        return 1 / (1 + math.exp(-raw))
    return 1 / (1 + math.exp(-(a * raw + b)))


@app.get("/healthz")
async def healthz() -> dict:
    return {"ok": True}


@app.post("/score")
async def score(req: ScoreRequest) -> ORJSONResponse:
    data = await store.get(f"{prefix}:v:{req.id}")
    if data is None:
        raise HTTPException(status_code=404, detail="lead_not_found")
    row = np.frombuffer(data, dtype=np.float32).astype(np.float64).reshape(1, width)
    contrib = booster.predict(row, pred_contrib=True)[0]
    raw = float(contrib.sum())
    top = np.argsort(-np.abs(contrib[:-1]))[:3]
    return ORJSONResponse(
        {
            "leadId": req.id,
            "probability": platt(raw),
            "reasons": [{"feature": names[i], "value": float(contrib[i])} for i in top],
        }
    )

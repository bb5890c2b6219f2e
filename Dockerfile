# Breed Bot on AWS Lambda: FastAPI + Mangum in a container image.
#
#   docker build --provenance=false -t breed-bot .
#   docker run --rm -p 9000:8080 breed-bot   # then POST a Function URL event to
#   curl -s localhost:9000/2015-03-31/functions/function/invocations -d @event.json
#
# --provenance=false: Lambda rejects OCI image indexes (attestations), it wants a plain image.
FROM public.ecr.aws/lambda/python:3.12

# The runtime set only (no TensorFlow, no torch), exactly as pinned; binary wheels only, so
# nothing is compiled in the image and what runs is what the venv test installed.
COPY requirements.txt ${LAMBDA_TASK_ROOT}/
RUN pip install --no-cache-dir --disable-pip-version-check --only-binary=:all: \
        --target "${LAMBDA_TASK_ROOT}" -r "${LAMBDA_TASK_ROOT}/requirements.txt" \
    && rm "${LAMBDA_TASK_ROOT}/requirements.txt"

# The model and its labels first (they change less often than the code).
COPY unique_labels.csv ${LAMBDA_TASK_ROOT}/
COPY model/ ${LAMBDA_TASK_ROOT}/model/
COPY classifier/ ${LAMBDA_TASK_ROOT}/classifier/
COPY bot/ ${LAMBDA_TASK_ROOT}/bot/
COPY webhook/ ${LAMBDA_TASK_ROOT}/webhook/

# /var/task is read-only at run time: compile the bytecode now, so a cold start does not
# recompile every module, and refuse to build an image whose model does not load and agree
# with its card and labels (checksums included).
RUN python -m compileall -q -j 0 "${LAMBDA_TASK_ROOT}" \
    && cd "${LAMBDA_TASK_ROOT}" \
    && python -c "from classifier import get_classifier; c = get_classifier(); \
print('model', c.card.name, c.card.version, len(c.breeds), 'labels')" \
    && python -c "import webhook.main; print('handler', webhook.main.handler)"

CMD ["webhook.main.handler"]

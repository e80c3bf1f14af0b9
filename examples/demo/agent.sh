# Pretends to be a coding agent: reads the task, "works", and ends with the image protocol's
# exit marker. DEMO_EXIT picks the exit code.
echo "task: ${FLAUDE_PROMPT:-none}"
for step in "reading the code" "running the tests" "writing a fix"; do
  echo "agent: $step"
  sleep 1
done
echo "agent: done" >&2
code="${DEMO_EXIT:-0}"
echo "[flaude:exit:$code]"
exit "$code"

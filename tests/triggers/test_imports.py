import subprocess
import sys


def test_importing_the_triggers_app_loads_no_model():
    """The web process and every worker import these; numpy, onnxruntime and VADER load on first use."""
    code = (
        "import django, os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings_test'); "
        "django.setup(); import triggers.services, triggers.tasks, triggers.admin, triggers.sentiment; "
        "heavy = ('numpy', 'onnxruntime', 'vaderSentiment', 'tokenizers'); "
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"imported at start-up: {result.stdout.strip()}"

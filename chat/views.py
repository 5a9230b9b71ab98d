from django.shortcuts import render


def demo_home(request):
    """The demo shop's front page, with the chat widget embedded as a customer would embed it."""
    return render(request, "demo/home.html")

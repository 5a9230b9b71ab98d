from django.urls import path

from widget import views

urlpatterns = [
    path("", views.demo_home, name="demo-home"),
    path("products", views.demo_products, name="demo-products"),
    path("help", views.demo_help, name="demo-help"),
    path("help/<slug:slug>", views.demo_help_article, name="demo-help-article"),
    path("widget.js", views.widget_js, name="widget-js"),
    path("widget.css", views.widget_css, name="widget-css"),
]

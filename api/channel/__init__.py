"""The API channel: an external system (a WhatsApp or Slack bridge, a mobile app) brings its customers'
conversations in over the REST API; what the bot and agents answer goes back to it by webhook."""

"""Floor 0: the embedding model and the chat model, infrastructure that several apps use and none owns.

Imports no app. Heavy libraries (onnxruntime, tokenizers, LangChain integrations) load on first use.
"""

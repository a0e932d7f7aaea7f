# %% [markdown]
# Modèle d'entraînement

# %%
seed = 42

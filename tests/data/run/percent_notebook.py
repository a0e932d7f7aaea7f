# %% [markdown]
# # A py:percent notebook

# %% tags=["parameters"]
factor = 2  # what to multiply by

# %%
import nb2prod

nb2prod.record("product", factor * 21)
